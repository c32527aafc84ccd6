"""A site's own record-level privacy floor: what DP-SGD it requires, whatever a plan says.

The plan (from the coordinator) names the target epsilon, the rounds and the batches; a site
that trusted it would add no noise when a hostile coordinator sends no DP, and would add the
noise of a one-round job every time a coordinator replays round 1 of 1. With
``[privacy] max_epsilon`` in its own configuration a site refuses a training round without
DP-SGD, with a delta above ``max_delta``, or whose steps, composed with every step it already
took in this job (its own ledger, not the plan's arithmetic), would spend more than
``max_epsilon``.

Distributed DP-SGD (``privacy.sample_dp.noise_shares``) has a site add only a share of its
noise: a hostile coordinator asking for shares would cut a site's noise by ``sqrt(m)``. A site
adds a share only when its own ``noise_shares`` and ``sample_rate`` (agreed by the consortium)
equal the plan's, and only under secure aggregation, where it reveals nothing for a sum of fewer
than ``m``. Never under homomorphic encryption: there the coordinator names the ciphertexts a
site decrypts, and can have one site's update (with a share of its noise) decrypted alone.

```toml
[privacy]            # optional; without it the plan decides, as before
max_epsilon = 1.0    # refuse training without DP-SGD, or beyond epsilon 1 over this job
max_delta = 1e-5
noise_shares = 5     # distributed DP-SGD: 1/sqrt(5) of the noise, in secure sums of >= 5 only
sample_rate = 0.04   # ... at this federation-wide Poisson rate
statistics_rosters = "same"  # default: one data set's statistics summed over one set of sites
min_client_noise = 1.0  # organization-level DP: only at noise multiplier >= 1, secure sums only
```

Organization-level DP (``privacy.client_dp``) is the plan's too: its noise multiplier and clip
arrive from the coordinator. With ``min_client_noise`` a site sends an update only under
organization-level DP at a noise multiplier of at least that, and only where a sum it helps
release holds the whole of it: under secure aggregation (it reveals nothing for a sum of fewer
than its noise shares cover), or in clear / under HE when its share is the whole noise (one
reporter). Otherwise the coordinator reads its update with ``1/sqrt(m)`` of the noise.

``statistics_rosters`` bounds the secure statistics sums across jobs
(:mod:`~fedsec.engines.nvflare.site_rosters`): ``"same"`` sums the statistics of unchanged data
only over the sites they were first summed over, ``"pinned"`` every statistics sum of this site
over one set of sites whatever its data, ``"any"`` opts out (sums over other sets of sites in
two jobs then differ by those sites' statistics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fedsec.engines.nvflare.ledger_file import LedgerFile, Steps
from fedsec.engines.nvflare.plan import (
    NOISE_SHARES_NEED_SECAGG,
    PlanRefused,
    ProtectionSettings,
    SitePlan,
)
from fedsec.fl import recipe
from fedsec.fl.privacy import dp
from fedsec.fl.privacy.neighbours import epsilon_up, replace_one_composed
from fedsec.fl.privacy.protect import TooFewNoiseShares, noise_reporters

#: Room for floating point only: Opacus calibrates to within 0.01 below the target.
EPSILON_SLACK = 1e-6


class SitePrivacyConfig(BaseModel):
    """This site's record-level DP floor (``max_epsilon`` None: the plan decides)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_epsilon: float | None = Field(
        default=None,
        gt=0,
        le=dp.VOID_EPSILON,
        description="train only with DP-SGD, never beyond this epsilon over the job",
    )
    max_delta: float = Field(default=1e-5, gt=0, lt=1, description="largest delta accepted")
    lifetime_epsilon: float | None = Field(
        default=None,
        gt=0,
        le=dp.VOID_EPSILON,
        description="train only with DP-SGD, never beyond this epsilon over every job recorded "
        "in the site's ledger file",
    )
    noise_shares: int | None = Field(
        default=None, ge=2, le=255, description="distributed DP-SGD: the shares it adds noise in"
    )
    sample_rate: float | None = Field(
        default=None, gt=0, le=1, description="distributed DP-SGD: the federation-wide rate"
    )

    min_client_noise: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="send updates only under organization-level DP at this noise multiplier "
        "or more, in sums that hold all of it",
    )

    statistics_rosters: Literal["same", "pinned", "any"] = Field(
        default="same",
        description="secure statistics of one data set (or, pinned, of any) only over the "
        "sites they were first summed over, in every job",
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> SitePrivacyConfig:
        if (self.noise_shares is None) != (self.sample_rate is None):
            raise ValueError("privacy.noise_shares and privacy.sample_rate go together")
        return self


def weak_privacy(config: SitePrivacyConfig) -> list[str]:
    """What this ``[privacy]`` leaves to the coordinator (said when a site config is written)."""
    notes = []
    if config.max_epsilon is None:
        notes.append(
            "no record-level DP floor: each job's plan decides whether and how much DP-SGD "
            "noise this site adds (set [privacy] max_epsilon to require it; docs/deployment.md)"
        )
    if config.min_client_noise is None:
        notes.append(
            "no organization-level DP floor: each job's plan decides whether and how much "
            "client-level noise this site adds (set [privacy] min_client_noise to require it)"
        )
    if config.statistics_rosters == "any":
        notes.append(
            '[privacy] statistics_rosters = "any": secure statistics of the same data summed '
            "over other sets of sites in two jobs differ by those sites' statistics, one "
            "site's counts per family included (docs/deployment.md)"
        )
    return notes


@dataclass(frozen=True)
class Terms:
    """How one round of this site was accounted as it trained: the accountant and delta of
    its plan, and the noise shares it added its noise in (None: all of it)."""

    accountant: str
    delta: float
    noise_shares: int | None


class PrivacyLedger:
    """Every DP-SGD step this site took in one job, and its own verdict on the next round.
    ``file`` (the site's :class:`LedgerFile`) keeps every job's steps, for
    ``lifetime_epsilon``."""

    def __init__(
        self, config: SitePrivacyConfig, site: str, file: LedgerFile | None = None
    ) -> None:
        self.config = config
        self.site = site
        self.file = file
        self.history: list[Steps] = []
        self.terms: list[Terms] = []  # one a round of ``history``
        self.reserved = False  # the last round of ``history`` is charged as planned

    def admit(self, plan: SitePlan, rows: int) -> None:
        """Refuse a round that would take this site beyond its own floor, or that asks it
        for noise shares its own configuration does not name (a check: :meth:`reserve`
        charges the round)."""
        past = self.file.others() if self._lifetime_file() else []
        self.check(plan, rows, past)

    def reserve(self, plan: SitePlan, rows: int) -> None:
        """Admit the round again and charge its planned steps, under the ledger file's lock
        in one critical section: jobs of this site running at once each passed
        :meth:`admit` before either trained. The charge stays if the round fails after it
        (fail closed); :meth:`record` settles it once the round trained."""
        planned = round_steps(plan, rows)
        if planned[0] <= 0 or not planned[2]:
            self.admit(plan, rows)
            return
        charged = [*self.history, planned]
        if self.file is None:
            self.check(plan, rows, [])
        else:
            self.file.reserve(partial(self.check, plan, rows), charged)
        budget = plan.sample_dp
        shares = budget.noise_shares if budget.distributed else None
        self.history, self.reserved = charged, True
        self.terms.append(Terms(budget.accountant, budget.delta, shares))

    def check(self, plan: SitePlan, rows: int, past: Sequence[Steps]) -> None:
        """:meth:`admit`'s verdict, ``past`` being every other job's steps."""
        self.check_shares(plan)
        self.check_lifetime(plan, rows, past)
        limit = self.config.max_epsilon
        if limit is None:
            return
        self.require_dp(plan, rows, "max_epsilon", limit)
        if plan.sample_dp.delta > self.config.max_delta:
            raise PlanRefused(
                f"training plan refused: sample_dp.delta {plan.sample_dp.delta:g} exceeds this "
                f"site's privacy.max_delta {self.config.max_delta:g}"
            )
        after = self.epsilon(plan.sample_dp.accountant, round_steps(plan, rows))
        if after > limit + EPSILON_SLACK:
            raise PlanRefused(
                f"training plan refused: this round would bring site {self.site}'s record-level "
                f"epsilon over the job to {after:.4g}, beyond its privacy.max_epsilon {limit:g}"
            )

    def require_dp(self, plan: SitePlan, rows: int, setting: str, limit: float) -> None:
        """Refuse a plan without DP-SGD noise, naming the setting that requires it."""
        if plan.noise(rows) <= 0:
            raise PlanRefused(
                f"training plan refused: site {self.site} trains only with record-level DP "
                f"(its privacy.{setting} is {limit:g}); the plan has none"
            )

    def check_lifetime(self, plan: SitePlan, rows: int, past: Sequence[Steps]) -> None:
        """Refuse a round that would take the epsilon over every job of this site's ledger
        file (``past``, and this one's steps) beyond its ``lifetime_epsilon``."""
        limit = self.config.lifetime_epsilon
        if limit is None:
            return
        self.require_dp(plan, rows, "lifetime_epsilon", limit)
        after = self.epsilon(plan.sample_dp.accountant, round_steps(plan, rows), past)
        if after > limit + EPSILON_SLACK:
            raise PlanRefused(
                f"training plan refused: this round would bring site {self.site}'s record-level "
                f"epsilon over every job of its ledger to {after:.4g}, beyond its "
                f"privacy.lifetime_epsilon {limit:g}"
            )

    def check_shares(self, plan: SitePlan) -> None:
        """A share of the noise only as this site's own config says (number and rate), and
        only into a secure sum: never under homomorphic encryption, whose decryption the
        coordinator directs (whatever a plan's own validation let through)."""
        budget = plan.sample_dp
        if not budget.distributed:
            return
        protection = plan.protection
        if protection is None or not protection.secure_aggregation:
            raise PlanRefused(
                f"training plan refused at site {self.site}: {NOISE_SHARES_NEED_SECAGG}"
            )
        own = (self.config.noise_shares, self.config.sample_rate)
        if own != (budget.noise_shares, budget.sample_rate):
            raise PlanRefused(
                f"training plan refused: noise_shares {budget.noise_shares} at sample_rate "
                f"{budget.sample_rate:g}; site {self.site} adds a share of its DP-SGD noise only "
                f"as its own [privacy] says (noise_shares {own[0]}, sample_rate {own[1]})"
            )

    def record(self, done: int) -> None:
        """Settle the reserved round: charged its ``done`` DP-SGD steps, or the planned ones
        if more (what other jobs were admitted against)."""
        if not self.reserved:
            return
        self.reserved = False
        noise, rate, planned = self.history[-1]
        if done > planned:
            self.history[-1] = (noise, rate, done)
            if self.file is not None:
                self.file.save(self.history)

    def delta(self) -> float:
        """The delta this site tells its epsilon at: the smallest its rounds trained at (the
        run's, so its epsilon reads against the run's delta), never above its ``max_delta``
        when it has a floor (what its ledger's verdicts use; a smaller delta, a larger and
        still true epsilon)."""
        floored = self.config.max_epsilon is not None or self.config.lifetime_epsilon is not None
        trained = [t.delta for t in self.terms]
        if not floored:
            return min(trained) if trained else self.config.max_delta
        return min([self.config.max_delta, *trained])

    def spent(self) -> dict:
        """What DP-SGD spent here over the job, from this site's own record alone (never an
        evaluate plan's batch, rate, delta or accountant): every round's steps as trained,
        composed by each accountant its rounds used (the largest epsilon), at :meth:`delta`."""
        if not self.history:
            return {}
        delta = self.delta()
        accountant, epsilon = self._worst(self.history, delta)
        report = {
            "noise_multiplier": round(min(noise for noise, _, _ in self.history), 6),
            "sample_rate": round(max(rate for _, rate, _ in self.history), 6),
            "steps": sum(steps for _, _, steps in self.history),
            "epsilon": epsilon_up(epsilon),
            "epsilon_rounded_up": True,
            "epsilon_replace_one": replace_one_composed(_merged(self.history), delta),
            "delta": delta,
            "accountant": accountant,
        }
        shares = [t.noise_shares for t in self.terms if t.noise_shares]
        if shares:  # what a colluding organization cannot remove
            residual = [
                (noise * np.sqrt((t.noise_shares - 1) / t.noise_shares), rate, steps)
                if t.noise_shares
                else (noise, rate, steps)
                for (noise, rate, steps), t in zip(self.history, self.terms, strict=True)
            ]
            report["noise_shares"] = min(shares)
            report["epsilon_with_one_colluding_org"] = epsilon_up(self._worst(residual, delta)[1])
        return report

    def _worst(self, history: list[Steps], delta: float) -> tuple[str, float]:
        accountants = sorted({t.accountant for t in self.terms})
        return max(
            ((a, dp.composed_sample_dp_epsilon(history, delta, a)) for a in accountants),
            key=lambda pair: pair[1],
        )

    def _lifetime_file(self) -> bool:
        return self.file is not None and self.config.lifetime_epsilon is not None

    def epsilon(
        self, accountant: str = "rdp", extra: Steps | None = None, before: Sequence[Steps] = ()
    ) -> float:
        """Epsilon (at ``max_delta``) of every recorded step, and of ``extra`` if given, after
        the steps ``before`` (other jobs')."""
        history = [*before, *self.history, *([extra] if extra else [])]
        return dp.composed_sample_dp_epsilon(history, self.config.max_delta, accountant)


def check_client_noise(
    config: SitePrivacyConfig, site: str, protection: ProtectionSettings | None, sampled: int
) -> None:
    """Refuse a round that does not add this site's own organization-level DP floor
    (``min_client_noise``) to every sum the coordinator can read its update in."""
    floor = config.min_client_noise
    if floor is None:
        return
    plan = protection.to_plan() if protection is not None else None
    if plan is None or not plan.client_dp or plan.client_noise_multiplier < floor:
        noise = plan.client_noise_multiplier if plan is not None else 0.0
        raise PlanRefused(
            f"training plan refused: site {site} sends updates only under organization-level "
            f"DP at a noise multiplier of at least {floor:g} (its privacy.min_client_noise); "
            f"the plan has {noise:g}"
        )
    if plan.secure_aggregation:
        return
    try:
        shares = noise_reporters(plan, sampled)
    except TooFewNoiseShares as error:
        raise PlanRefused(f"training plan refused: {error}") from None
    if shares > 1:
        raise PlanRefused(
            f"training plan refused: site {site}'s organization-level noise would be a share "
            f"(1/sqrt({shares})) of an update the coordinator reads alone; with "
            "privacy.min_client_noise it adds shares only into secure sums"
        )


def _merged(history: Sequence[Steps]) -> tuple[Steps, ...]:
    """The steps of rounds at one noise multiplier and rate summed (one term each, as the
    in-process engine accounts a run)."""
    steps: dict[tuple[float, float], int] = {}
    for noise, rate, count in history:
        steps[(noise, rate)] = steps.get((noise, rate), 0) + count
    return tuple((noise, rate, count) for (noise, rate), count in steps.items())


def round_steps(plan: SitePlan, rows: int) -> Steps:
    """The noise multiplier (under noise shares: of the sum of the shares, as the site's
    config accepted), Poisson rate and number of DP-SGD steps of one round."""
    training, budget = plan.training, plan.sample_dp
    steps = recipe.steps_per_round(recipe.dp_training(training, budget), rows, 1)
    rate = plan.rate(rows) or recipe.own_rate(training, budget, rows)
    return plan.noise(rows), rate, steps
