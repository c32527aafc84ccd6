"""The DeepLog model of a logs job, at the site and at the coordinator.

:class:`LogsJob` (coordinator) builds the model the in-process federated arm builds
(:func:`fedsec.tasks.logs.arms.train_federated`): its vocabulary is the union of the sites'
hashed event tokens (:mod:`fedsec.engines.nvflare.vocabulary`), its initial weights come from
the same seed. :class:`LogsModel` (site) turns the site's normal training sessions into the
same (window, next event) pairs under that vocabulary, trains the next-event objective as the
in-process engine does, and evaluates the final model on its own sessions: ``top_k`` chosen on
its normal validation sessions at the job's false-positive target, then judged on its test
sessions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from fedsec.core import seeding
from fedsec.engines.nvflare import vocabulary
from fedsec.engines.nvflare.job_models import summed
from fedsec.engines.nvflare.plan import PlanRefused, SitePlan
from fedsec.engines.nvflare.records import Asking, JobFailed
from fedsec.engines.nvflare.setups import LogsSetup
from fedsec.engines.nvflare.site_config import SiteConfig
from fedsec.engines.nvflare.site_data import load_site_logs
from fedsec.engines.nvflare.site_models import Prepared
from fedsec.engines.nvflare.site_notes import public_key_note, weak_hash_key
from fedsec.engines.nvflare.site_preprocessing import SetupRefused
from fedsec.engines.nvflare.vocabulary import SiteSessions
from fedsec.features.vocabulary import RESERVED, EventVocabulary
from fedsec.models.base import GLOBAL
from fedsec.models.deeplog import (
    MAX_SURPRISE,
    DeepLogDetector,
    DeepLogSpec,
    build_deeplog,
    session_windows,
    sessions_ids,
)
from fedsec.models.session_scores import (
    SURPRISE_BINS,
    calibrate_top_k,
    surprise_histogram,
    threshold_of_histogram,
)
from fedsec.reporting.session_metrics import session_metrics
from fedsec.training.params import Params, get_params
from fedsec.training.plan import TrainingPlan


def load_site_sessions(config: SiteConfig, view: str, base: Path) -> SiteSessions:
    """This site's log sessions and its own keyed hashing (``view`` is ``"sessions"``); none
    while its key is one a coordinator could guess (fedsec's default, the docs' example, a short
    one) and it did not opt in (the coordinator could read its tokens)."""
    org = load_site_logs(config, base)
    assert config.logs is not None  # load_site_logs refuses a site without logs
    if weak_hash_key(config.logs.hash_key) and not config.logs.public_hash_key:
        raise PlanRefused(f"site {config.name} refuses logs jobs: {public_key_note(config.logs)}")
    return SiteSessions(org, EventVocabulary(config.logs.hash_buckets, config.logs.hash_key))


def deeplog_spec(setup: LogsSetup) -> DeepLogSpec:
    return DeepLogSpec(setup.vocab, setup.window, setup.embedding, setup.hidden, setup.layers)


def deeplog(setup: LogsSetup, vocabulary: EventVocabulary, params: Params) -> DeepLogDetector:
    """The job's DeepLog model with ``params`` (``top_k`` or threshold still to choose)."""
    index = np.asarray(setup.index, np.int64)
    detector = DeepLogDetector(
        deeplog_spec(setup), vocabulary, index, end_token=setup.end_token, score=setup.score
    )
    return detector.set_weights(params)


def site_rule(
    model: DeepLogDetector, setup: LogsSetup, scores: np.ndarray, target: float
) -> int | float:
    """The ``top_k`` (max-rank) or threshold (max-surprise) a site flags with: the job's fixed
    or pooled one, else its own on its normal validation ``scores`` at ``target``."""
    if not model.uses_top_k and setup.threshold is not None:
        return setup.threshold
    return model.calibrate_rule(scores, target, setup.top_k, setup.max_top_k)


#: The most of a site's training events an honest event index may miss: none (the index is
#: the union of every site's tokens); the slack is for a site whose files grew mid-job.
MAX_UNINDEXED = 0.01


def check_index(index: np.ndarray, sessions: list[np.ndarray]) -> None:
    """Refuse (:class:`SetupRefused`) an event index missing more than :data:`MAX_UNINDEXED`
    of this site's own training events: a one-token index made every event unseen, and
    every benign session flagged, at every site."""
    events = np.concatenate([np.asarray(t, np.int64) for t in sessions]) if sessions else None
    if events is None or not len(events):
        return
    missed = float(1.0 - np.isin(events, index).mean())
    if missed > MAX_UNINDEXED:
        raise SetupRefused(
            f"model setup refused: the event index ({len(index)} tokens) misses {missed:.1%} "
            f"of this site's training events, more than the {MAX_UNINDEXED:.0%} an index of "
            "every site's tokens may"
        )


class LogsModel:
    """Next-event prediction on the site's normal training sessions."""

    def prepare(self, data: SiteSessions, setup: LogsSetup) -> Prepared:
        if setup.buckets != data.vocabulary.buckets:
            raise PlanRefused(
                f"model setup refused: the job's tokens come from {setup.buckets} buckets, "
                f"this site's from {data.vocabulary.buckets}"
            )
        unseen = len(setup.index) + int(setup.end_token)  # the rank of an event never seen
        if setup.top_k > max(unseen, 1):
            raise PlanRefused(
                f"model setup refused: top_k {setup.top_k} flags no session (events rank at "
                f"most {unseen})"
            )
        index = np.asarray(setup.index, np.int64)
        check_index(index, data.org.train.tokens)
        inputs = sessions_ids(index, data.org.train.tokens)
        x, y, _ = session_windows(inputs, setup.window, setup.end_token)
        return Prepared(setup, data, self.network(setup), x, y)

    def network(self, setup: LogsSetup) -> nn.Module:
        return build_deeplog(deeplog_spec(setup))

    def check(self, plan: SitePlan, setup: LogsSetup) -> None:
        if plan.class_weights is not None:
            raise PlanRefused("training plan refused: class_weights for a next-event model")

    def objective(
        self, training: TrainingPlan, ready: Prepared, site: str, plan: SitePlan
    ) -> TrainingPlan:
        return training  # next-event cross-entropy, as the in-process federated arm

    def gate_labels(self, org: Any, ready: Prepared, params: Params, target: float) -> np.ndarray:
        raise PlanRefused(
            "this site's acceptance gate judges classifiers, not a next-event model: it takes "
            "part in logs jobs only with [gate] disabled"
        )

    def evaluate(
        self, data: SiteSessions, ready: Prepared, params: Params, target: float
    ) -> dict[str, Any]:
        """``top_k`` or threshold on the site's normal validation sessions at ``target`` (or
        the job's own), then session metrics on its test sessions."""
        setup: LogsSetup = ready.setup
        model = deeplog(setup, data.vocabulary, params)
        org = data.org
        scores = model.decision_function(org.val.tokens)
        rule = site_rule(model, setup, scores, target)
        (model.top_k_ if model.uses_top_k else model.thresholds_)[GLOBAL] = rule
        val_fpr = round(float(np.mean(model.flag_scores(scores, None))), 6) if len(scores) else None
        flagged = model.flag_scores(model.decision_function(org.test.tokens), None)
        test = session_metrics(org.test.tokens, org.test.labels, flagged)
        return {
            "validation": {
                "threshold": rule,
                "detection_rate": None,
                "benign_fpr": val_fpr,
                "sessions": len(org.val.tokens),
            },
            "test": {
                **test,
                "threshold": rule,
                "detection_rate": test["recall"],
                "benign_fpr": test["fpr"],
            },
        }

    def check_sums(self, what: str, setup: LogsSetup) -> None:
        if what != "scores":
            raise PlanRefused(f"sums refused: a logs job sums no {what}")

    def sums(self, what: str, ready: Prepared, params: Params) -> np.ndarray:
        """The histogram of the site's normal validation session scores under the final model
        (ranks 0 to the unseen rank, or the surprise in its bins), its session count last: what
        a pooled ``top_k`` or threshold is chosen from."""
        self.check_sums(what, ready.setup)
        data: SiteSessions = ready.template
        model = deeplog(ready.setup, data.vocabulary, params)
        scores = model.decision_function(data.org.val.tokens)
        if model.uses_top_k:
            histogram = np.bincount(scores, minlength=model.unseen_rank + 1)
        else:
            histogram = surprise_histogram(scores)
        return np.append(histogram.astype(np.float64), float(len(scores)))


class LogsJob:
    """The shared DeepLog model over the union of the sites' event tokens."""

    def server_lr(self, spec: Any) -> float | None:
        return None  # the strategy's own

    def gather(self, coordinator: Asking) -> vocabulary.Vocabulary:
        return vocabulary.gather(coordinator)

    def setup(
        self, coordinator: Asking, gathered: vocabulary.Vocabulary
    ) -> tuple[Params, dict[str, Any], None]:
        spec, logs = coordinator.spec, coordinator.spec.logs
        assert logs is not None  # JobSpec: a logs job carries its logs section
        setup: dict[str, Any] = {
            "task": "logs",
            "view": "sessions",
            "buckets": logs.hash_buckets,
            "index": [int(t) for t in gathered.index],
            "window": logs.window,
            "embedding": logs.embedding,
            "hidden": logs.hidden,
            "layers": logs.layers,
            "end_token": logs.end_token,
            "top_k": logs.top_k,
            "max_top_k": logs.max_top_k,
            "score": logs.score,
        }
        checked = LogsSetup.model_validate(setup)  # what sites will check
        coordinator.log(
            f"setup: DeepLog over {len(gathered.index)} event tokens "
            f"({RESERVED + len(gathered.index)} outputs), sites {coordinator.alive}"
        )
        return self.initial(checked, spec.seed), setup, None

    def initial(self, setup: LogsSetup, seed: int) -> Params:
        generator = seeding.torch_generator(seed, "init", "global")
        return get_params(build_deeplog(deeplog_spec(setup), generator))

    def finish(self, coordinator: Asking, params: Params, setup: dict[str, Any]) -> dict:
        """Per-org calibration: nothing (each site chooses its ``top_k`` or threshold when it
        evaluates). Pooled: one from the sum of the sites' validation score histograms (in
        clear, or by secure aggregation as the job protects its updates)."""
        spec, logs = coordinator.spec, coordinator.spec.logs
        assert logs is not None
        surprise = logs.score == MAX_SURPRISE
        if (logs.top_k and not surprise) or logs.calibration != "pooled":
            return setup
        unseen = len(setup["index"]) + int(setup["end_token"])
        bins = SURPRISE_BINS if surprise else unseen + 1
        total = summed(coordinator, "scores", spec.rounds + 1, setup, params, bins)
        counts = np.rint(total[:-1]).astype(np.int64)
        if counts.min() < 0 or counts.sum() != round(float(total[-1])):
            raise JobFailed("the summed validation score histogram is inconsistent")
        if surprise:
            threshold = threshold_of_histogram(counts, spec.target_fpr)
            coordinator.log(f"pooled threshold {threshold} from {counts.sum()} sessions")
            return setup | {"threshold": threshold}
        scores = np.repeat(np.arange(unseen + 1), counts)
        cap = min(logs.max_top_k or unseen, unseen)
        top_k = calibrate_top_k(scores, spec.target_fpr, cap)
        coordinator.log(f"pooled top_k {top_k} from {len(scores)} validation sessions")
        return setup | {"top_k": int(top_k)}
