"""The ``[adversary]`` section of a scenario: dishonest organizations, simulated in-process.

One kind of attack per scenario, by the organizations named in ``orgs`` (or ``count`` of them
drawn with the run's seed), from ``start_round`` on. Data attacks poison what the organization
trains on; model attacks tamper with the update it sends:

* ``label_flip``: every attack row of the organization relabelled ``target`` (benign);
* ``targeted_flip``: only the rows of ``families`` relabelled ``target``;
* ``backdoor``: ``poison_fraction`` of its attack rows carry the ``trigger`` (model inputs set
  to fixed values, in standard deviations of the federation's statistics) and are labelled
  benign, so the trigger turns any attack benign; with ``trigger_at_clip`` its inputs sit at
  the model's input clip instead (an attacker who knows where the model clips: the range
  guard's edge), so it trains on what the federation's model sees;
* ``sign_flip``: sends ``global - scale x (its change)``;
* ``scale``: sends ``global + scale x (its change)`` (boosting, model replacement);
* ``noise``: sends ``global + N(0, noise_std^2)`` per parameter;
* ``free_ride``: sends the global model back, having trained nothing;
* ``inflate``: claims ``inflation`` times its rows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fedsec.core import seeding
from fedsec.core.configfile import StrictConfig
from fedsec.data.taxonomy import BENIGN, FAMILIES

AttackKind = Literal[
    "label_flip",
    "targeted_flip",
    "backdoor",
    "sign_flip",
    "scale",
    "noise",
    "free_ride",
    "inflate",
]
DATA_ATTACKS: frozenset[str] = frozenset({"label_flip", "targeted_flip", "backdoor"})
#: Default ``scale`` per kind (``scale`` also boosts a backdoor's update when set).
DEFAULT_SCALE = {"sign_flip": 1.0, "scale": 10.0}


class AdversaryConfig(StrictConfig):
    kind: AttackKind
    orgs: list[str] = Field(default_factory=list, description="dishonest organizations by name")
    count: int = Field(default=0, ge=0, description="or this many, drawn with the seed")
    start_round: int = Field(default=1, ge=1)
    scale: float | None = Field(default=None, gt=0, description="sign_flip 1, scale 10")
    noise_std: float = Field(default=0.05, gt=0)
    inflation: float = Field(default=100.0, ge=1)
    families: list[str] = Field(default_factory=list, description="targeted_flip's families")
    target: str = BENIGN
    trigger: dict[str, float] = Field(
        default_factory=dict,
        description="backdoor: model input -> value (empty: the first 3 numeric inputs at 10)",
    )
    trigger_at_clip: bool = Field(
        default=False,
        description="backdoor: every trigger input at the model's input clip (an attacker who "
        "knows it), not at the trigger's own values",
    )
    poison_fraction: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _who(self) -> AdversaryConfig:
        if bool(self.orgs) == bool(self.count):
            raise ValueError("adversary: give either orgs (names) or count, not both or neither")
        if len(set(self.orgs)) != len(self.orgs):
            raise ValueError(f"adversary.orgs lists an organization twice: {self.orgs}")
        if self.kind == "targeted_flip" and not self.families:
            raise ValueError("adversary.kind = 'targeted_flip' needs adversary.families")
        unknown = sorted(set(self.families) - set(FAMILIES))
        if unknown:  # a misspelt family flipped nothing, and the cell measured no attack
            raise ValueError(f"adversary.families: unknown families {unknown} (families: "
                             f"{', '.join(FAMILIES)})")  # fmt: skip
        if self.trigger_at_clip and self.kind != "backdoor":
            raise ValueError("adversary.trigger_at_clip is for adversary.kind = 'backdoor'")
        return self

    def boost(self) -> float:
        """The factor on the adversary's change (1 unless ``scale`` applies)."""
        if self.scale is not None:
            return self.scale
        return DEFAULT_SCALE.get(self.kind, 1.0)


def dishonest_orgs(adversary: AdversaryConfig, names: list[str], seed: int) -> list[str]:
    """The named organizations, or ``count`` of ``names`` drawn with ``seed``."""
    if adversary.orgs:
        return list(adversary.orgs)
    picks = seeding.rng(seed, "adversary").choice(len(names), size=adversary.count, replace=False)
    return [names[i] for i in sorted(picks)]
