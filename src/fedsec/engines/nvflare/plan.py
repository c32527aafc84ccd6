"""What a job may ask of a site: typed messages, validated where they arrive.

The coordinator relays a :class:`SitePlan` (one round's local training) and a model setup
(:mod:`fedsec.engines.nvflare.setups`: preprocessing, label set, network) with each task. Sites
validate both with ``extra="forbid"`` and ranges, before anything runs: an unknown or
out-of-range field is refused with an error naming it. :class:`JobSpec` is the coordinator's
own part of the job. Field names mirror :class:`~fedsec.scenarios.config.Scenario`, whose
sections are reused.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fedsec.core import configfile, seeding
from fedsec.core.errors import ConfigError, FedsecError
from fedsec.engines.nvflare.deployable import check_defence, check_tree_job, require_deployable
from fedsec.engines.nvflare.logs_job import LogsJobConfig
from fedsec.fl import recipe
from fedsec.fl.privacy.protect import ProtectionPlan
from fedsec.fl.robustness import RobustnessConfig
from fedsec.fl.robustness.range_guard import RangeGuardConfig
from fedsec.fl.strategies import strategy_class
from fedsec.scenarios.config import (
    AnomalyConfig,
    ModelConfig,
    PrivacyConfig,
    SampleDpConfig,
    Scenario,
    StrategyConfig,
    TrainingConfig,
)
from fedsec.training.plan import TrainingPlan

MAX_ROUNDS = 100_000
MAX_SITES = 255  # Shamir indices of the secure sum


def check_shares_protected(budget: SampleDpConfig, protection: ProtectionSettings | None) -> None:
    """Distributed DP-SGD in a deployment: the sum hidden by secure aggregation (one update
    carries a share of the noise; not HE, see :data:`NOISE_SHARES_NEED_SECAGG`) and the rate
    named (every site pins the same one in its own config)."""
    if budget.sample_rate is None:
        raise ValueError(
            "privacy.sample_dp.noise_shares in a deployment needs privacy.sample_dp.sample_rate: "
            "the federation-wide rate every site pins in its own [privacy] section"
        )
    if protection is None or not protection.secure_aggregation:
        raise ValueError(NOISE_SHARES_NEED_SECAGG)


#: Why noise shares travel only under secure aggregation (the plan's and the site's refusal).
NOISE_SHARES_NEED_SECAGG = (
    "privacy.sample_dp.noise_shares needs secure aggregation: one update carries only a share "
    "of the noise, and only secure aggregation's threshold keeps a single update hidden (under "
    "homomorphic encryption the coordinator names the ciphertexts a site decrypts, and can "
    "have one site's update decrypted alone)"
)


class PlanRefused(FedsecError, ValueError):
    """A site refuses a task: the message names the field and the problem."""


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ProtectionSettings(Message):
    """How a site protects its update: secure aggregation or homomorphic encryption, and/or
    organization-level DP. No seed: a site draws its DP noise from its own CSPRNG."""

    secure_aggregation: bool = False
    homomorphic_encryption: bool = False
    threshold: int | None = Field(
        default=None, ge=1, le=MAX_SITES, description="can raise a site's threshold, not lower it"
    )
    weight_unit: float = Field(default=1000.0, gt=0)
    client_noise_multiplier: float = Field(default=0.0, ge=0)
    client_clip: float = Field(default=1.0, gt=0)
    client_min_reporting: int | None = Field(default=None, ge=1, le=MAX_SITES)
    sample_noise_shares: int | None = Field(default=None, ge=2, le=MAX_SITES)

    def to_plan(self) -> ProtectionPlan:
        return ProtectionPlan(**self.model_dump())


class SitePlan(Message):
    """One round of local training as a site receives it (relayed by the coordinator)."""

    round: int = Field(ge=1, le=MAX_ROUNDS)
    rounds: int = Field(ge=1, le=MAX_ROUNDS)
    seed: configfile.Seed
    sampled: int = Field(ge=1, le=MAX_SITES, description="organizations selected this round")
    training: TrainingConfig
    prox_mu: float = Field(default=0.0, ge=0, le=100)
    class_weights: list[float] | None = Field(default=None, max_length=4096)
    logit_adjusted: bool = Field(
        default=False, description="class_weights as logit offsets (model.class_weighting)"
    )
    sample_dp: SampleDpConfig = Field(default_factory=SampleDpConfig)
    protection: ProtectionSettings | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SitePlan:
        if self.round > self.rounds:
            raise ValueError(f"round {self.round} is beyond the job's {self.rounds} rounds")
        if self.sample_dp.distributed:
            check_shares_protected(self.sample_dp, self.protection)
        if self.class_weights is not None and not all(0 < w <= 1e3 for w in self.class_weights):
            raise ValueError("class_weights must lie in (0, 1000]")
        p = self.protection
        if p is not None and p.secure_aggregation and p.homomorphic_encryption:
            raise ValueError("protection: secure_aggregation and homomorphic_encryption exclude")
        if p is not None and p.homomorphic_encryption and self.sampled < 2:
            raise ValueError(
                "protection.homomorphic_encryption with 1 selected organization: the decrypted "
                "sum would be that organization's update"
            )
        return self

    def noise(self, rows: int) -> float:
        """This site's DP-SGD noise multiplier, calibrated on its own row count (distributed
        DP-SGD: the federation's, at its named rate; the site adds a share of it)."""
        return recipe.sample_dp_noise(
            self.training, self.sample_dp, self.rounds, rows, 1, self.rate(rows)
        )

    def rate(self, rows: int) -> float:
        """Distributed DP-SGD's named federation-wide rate (0: this site's own)."""
        return recipe.federation_rate(self.training, self.sample_dp, rows)

    def to_training_plan(self, site: str, rows: int) -> TrainingPlan:
        """Exactly the plan the in-process engine gives organization ``site`` this round."""
        weights = tuple(self.class_weights) if self.class_weights is not None else None
        return recipe.training_plan(
            recipe.dp_training(self.training, self.sample_dp),
            orgs_per_step=1,
            prox_mu=self.prox_mu,
            weights=weights,
            noise=recipe.noise_share(self.sample_dp, self.noise(rows)),
            clip=self.sample_dp,
            seed=seeding.federated_seed(self.seed, site, self.round),
            sample_rate=self.rate(rows),
            logit_adjusted=self.logit_adjusted,
        )


class StatisticsRequest(Message):
    """What the statistics task asks of a site (:mod:`fedsec.engines.nvflare.statistics`).

    ``clear``: the site's summaries and rows per family as they are; ``schema``: its column
    names only; ``centres`` / ``summaries``: the two secure-sum passes, for ``sampled`` sites
    with ``threshold`` the coordinator's wish for survivors; ``rows`` which training rows are
    summarized (each site's own policy decides; the
    wish can only raise it) (``centre``/``log_centre``: the released global means,
    ``contributors``: the sites the centres were summed over)."""

    view: Literal["native", "canonical"]
    rows: Literal["all", "benign"] = Field(
        default="all", description="which training rows (benign: what an anomaly job trains on)"
    )
    stage: Literal["clear", "schema", "centres", "summaries"] = "clear"
    sampled: int = Field(default=1, ge=1, le=MAX_SITES)
    threshold: int | None = Field(default=None, ge=1, le=MAX_SITES)
    numeric: list[str] = Field(default_factory=list, max_length=10_000)
    centre: list[float] = Field(default_factory=list, max_length=10_000)
    log_centre: list[float] = Field(default_factory=list, max_length=10_000)
    contributors: list[str] = Field(default_factory=list, max_length=MAX_SITES)

    @model_validator(mode="after")
    def _consistent(self) -> StatisticsRequest:
        if len(set(self.numeric)) != len(self.numeric):
            raise ValueError("numeric column names must be distinct")
        if not all(0 < len(c) <= 256 for c in self.numeric):
            raise ValueError("numeric column names must have 1 to 256 characters")
        if self.stage == "summaries" and not (
            len(self.centre) == len(self.log_centre) == len(self.numeric)
        ):
            raise ValueError("summaries need one centre and one log centre per numeric column")
        return self

    @property
    def secure(self) -> bool:
        return self.stage in ("centres", "summaries")


class DeploymentSettings(Message):
    """How the coordinator runs the job: who must take part and how long it waits."""

    min_sites: int = Field(default=1, ge=1, le=MAX_SITES)
    round_timeout: float = Field(default=120.0, gt=0, le=86_400)
    setup_timeout: float = Field(default=600.0, gt=0, le=86_400)
    poll_interval: float = Field(
        default=0.2, ge=0.05, le=10, description="how often sites ask the coordinator for tasks"
    )
    site_order: list[str] = Field(
        default_factory=list, description="order of statistics and sampling (default: sorted)"
    )
    booster_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="where a tree job's XGBoost federated server listens (0: any free port)",
    )


class JobSpec(Message):
    """The coordinator's part of a job. ``training`` is relayed to sites and validated there."""

    name: str = Field(min_length=1, max_length=200)
    task: Literal["classification", "anomaly", "logs"] = "classification"
    seed: configfile.Seed
    rounds: int = Field(ge=1, le=MAX_ROUNDS)
    view: Literal["native", "canonical", "sessions"]
    model: ModelConfig
    strategy: StrategyConfig
    privacy: PrivacyConfig
    training: dict[str, Any]
    release_average: float = Field(
        default=0.0, ge=0, le=1, description="share of last rounds the released model averages"
    )
    target_fpr: float = Field(default=0.01, gt=0, lt=1)
    curve_rounds: list[int] = Field(default_factory=list, max_length=10_000)
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)
    anomaly: AnomalyConfig | None = None
    detector: Literal["ae", "svdd"] | None = Field(
        default=None, description="the one-class network an anomaly job trains"
    )
    logs: LogsJobConfig | None = None
    robustness: RobustnessConfig | None = Field(
        default=None, description="the robust rule the coordinator aggregates with"
    )
    range_guard: RangeGuardConfig | None = Field(
        default=None, description="the classifier clips its inputs at range_guard.clip"
    )

    @model_validator(mode="after")
    def _task(self) -> JobSpec:
        """An anomaly job names its detector; it sums centre and scale in clear or by secure
        aggregation (not under homomorphic encryption)."""
        if (self.task == "anomaly") != (self.anomaly is not None and self.detector is not None):
            raise ValueError("anomaly and detector are set for task anomaly, and only for it")
        if self.task == "anomaly" and self.privacy.homomorphic_encryption:
            raise ValueError(
                "privacy.homomorphic_encryption is not available to anomaly jobs (their centre "
                "and error scale are summed in clear or by secure aggregation)"
            )
        privacy = self.privacy
        if self.task == "anomaly" and privacy.client_dp.enabled and not privacy.secure_aggregation:
            raise ValueError(
                "privacy.client_dp in an anomaly job needs privacy.secure_aggregation: its "
                "centre and error sums would reach the coordinator exact, outside the DP noise"
            )
        return self._logs()

    def _logs(self) -> JobSpec:
        """A logs job carries its ``logs`` section, and only what it can protect."""
        if (self.task == "logs") != (self.logs is not None) or (self.task == "logs") != (
            self.view == "sessions"
        ):
            raise ValueError("logs and view = sessions are set for task logs, and only for it")
        problem = None if self.logs is None else self.logs.unprotected(self.privacy)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def model_key(self) -> str:
        """Which model the job trains: its task's, or ``trees`` (a boosted-tree classifier)."""
        return "trees" if self.model.kind == "xgboost" else self.task

    @model_validator(mode="after")
    def _protectable(self) -> JobSpec:
        """What the strategy's sites send must be something the job's privacy can protect
        (the scenario's own rule, checked again on a job that did not come from one)."""
        if self.model.kind == "xgboost":
            check_tree_job(self.task, self.privacy, self.robustness, self.range_guard)
            return self
        strategy = strategy_class(self.strategy.name)
        if self.privacy.sample_dp.enabled and strategy.changes_local_gradients:
            raise ValueError(
                f"privacy.sample_dp cannot be combined with strategy {self.strategy.name!r} "
                "(its extra gradient terms are not clipped)"
            )
        if self.privacy.client_dp.enabled and strategy.sends_extras:
            raise ValueError(
                f"privacy.client_dp cannot be combined with strategy {self.strategy.name!r} "
                "(it cannot clip and noise the extra arrays organizations send)"
            )
        if self.privacy.sample_dp.stats_epsilon_share:
            raise ValueError(
                "privacy.sample_dp.stats_epsilon_share: DP preprocessing statistics run in "
                "simulation only; a deployment does not release them yet"
            )
        if self.privacy.sample_dp.class_sampling:
            raise ValueError(
                "privacy.sample_dp.class_sampling runs in simulation only; a deployment's "
                "sites do not draw records by class yet"
            )
        if self.privacy.sample_dp.distributed:
            check_shares_protected(self.privacy.sample_dp, self.protection())
        return self._defence()

    def _defence(self) -> JobSpec:
        """A robust rule reads each update: only a job whose updates arrive in clear (or in
        group sums). A range guard (its clip in the model; each site's edge copies, by its own
        config) only for the classifier, without record-level DP (scenario checks, here again)."""
        guard_problem = {
            'task = "classification"': self.task != "classification",
            "no privacy.sample_dp": self.privacy.sample_dp.enabled,
        }
        needs = [what for what, wrong in guard_problem.items() if wrong]
        if self.range_guard is not None and needs:
            raise ValueError(f"range_guard needs {', '.join(needs)}")
        privacy, grouped = self.privacy, self.privacy.secagg_group_size is not None
        if grouped and (self.robustness is None or not privacy.secure_aggregation):
            raise ValueError("privacy.secagg_group_size needs secure aggregation and a robust rule")
        if grouped and strategy_class(self.strategy.name).sends_extras:
            raise ValueError(f"privacy.secagg_group_size: {self.strategy.name!r} sends extras")
        if self.robustness is None:
            return self
        hidden = privacy.homomorphic_encryption or privacy.client_dp.enabled
        if hidden or (privacy.secure_aggregation and not grouped):
            raise ValueError(
                "robustness: a robust rule reads each update in clear (or each group's secure "
                "sum: privacy.secagg_group_size); it cannot be combined with secure aggregation "
                "of all sites at once, homomorphic encryption or client-level DP"
            )
        check_defence(self.robustness)
        return self

    @classmethod
    def from_scenario(
        cls,
        scenario: Scenario,
        curve: list[int],
        deployment: DeploymentSettings,
        detector: str | None = None,
    ) -> JobSpec:
        """The job of ``scenario``; an anomaly scenario's job trains one of its deep models
        (``detector``, by default its first)."""
        require_deployable(scenario)
        anomaly = getattr(scenario, "anomaly", None)
        logs = getattr(scenario, "logs", None)
        if anomaly is not None:
            detector = detector or anomaly.models[0]
            if detector not in anomaly.models:
                raise ConfigError(
                    f"scenario {scenario.name!r} trains {anomaly.models}, not {detector!r}"
                )
        return cls(
            name=scenario.name,
            task=scenario.task,
            anomaly=anomaly,
            detector=detector,
            logs=None if logs is None else LogsJobConfig.of(logs),
            seed=scenario.seed,
            rounds=scenario.rounds,
            view=scenario.view,
            model=scenario.model,
            strategy=scenario.strategy,
            privacy=scenario.privacy,
            training=scenario.training.model_dump(mode="json"),
            release_average=scenario.training.release_average,
            target_fpr=scenario.evaluation.target_fpr,
            curve_rounds=sorted(curve),
            deployment=deployment,
            robustness=scenario.robustness,
            range_guard=scenario.range_guard,
        )

    def protection(self) -> ProtectionSettings | None:
        plan = recipe.protection_plan(self.privacy, self.seed)
        if plan is None:
            return None
        return ProtectionSettings(**{k: v for k, v in asdict(plan).items() if k != "seed"})


def explain(error: ValidationError) -> str:
    """One line per problem: ``field.path: message``."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{where}: {item['msg']}")
    return "; ".join(lines)


def parse(model: type[Message], data: Any, what: str) -> Any:
    """Validate ``data`` as ``model``; a :class:`PlanRefused` naming each bad field otherwise."""
    if not isinstance(data, dict):
        raise PlanRefused(f"{what} refused: expected a table of fields, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise PlanRefused(f"{what} refused: {explain(error)}") from None
