"""The logs task's part of a deployed run directory: the deployed DeepLog model, the
federated arm it makes, the namespaces its bundle records and what the report says the
coordinator saw."""

from __future__ import annotations

from fedsec.engines.nvflare.logs_models import deeplog
from fedsec.engines.nvflare.records import JobResult
from fedsec.engines.nvflare.setups import LogsSetup
from fedsec.features.vocabulary import EventVocabulary
from fedsec.models.deeplog import DeepLogDetector, build_deeplog
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.logs import LogFederation
from fedsec.tasks.logs.arms import LogArm, arm_data, validation_loss


def logs_model(result: JobResult, scenario: Scenario) -> DeepLogDetector:
    """The deployed DeepLog model; its events are hashed with the submitted scenario's key
    (the coordinator never held it)."""
    logs = scenario.logs  # type: ignore[union-attr]
    vocabulary = EventVocabulary(logs.hash_buckets, logs.hash_key)
    assert result.params is not None and result.setup is not None
    return deeplog(LogsSetup.model_validate(result.setup), vocabulary, result.params)


def deployed_logs_arm(result: JobResult, scenario: Scenario, federation: LogFederation) -> LogArm:
    """The federated arm of a logs run, trained by the deployment; its curve is the normal
    validation sessions' next-event loss at the curve rounds, as in process."""
    model = logs_model(result, scenario)
    data = arm_data(federation, federation.orgs, model.known)
    network = build_deeplog(model.spec)
    curve = [
        (round_, validation_loss(network, params, [o.val for o in data.orgs]))
        for round_, params in sorted(result.curve.items())
    ]
    return LogArm(
        "federated",
        dict.fromkeys([o.name for o in federation.orgs], model),
        curve,
        float(result.timing.get("total_s", 0.0)),
        [h.seconds for h in result.history],
        protection_seconds=[h.aggregation_seconds for h in result.history],
        participation=result.participation(),
    )


def log_namespaces(scenario: Scenario) -> dict[str, str]:
    """Per site of a per-source logs scenario, the prefix its event ids without template text
    are hashed under (what detection needs to hash a site's events)."""
    names: dict[str, str] = {}
    for source in scenario.logs.sources:  # type: ignore[union-attr]
        names.setdefault(source.name, source.namespace or source.name)
    return names


def vocabulary_seen(statistics: dict) -> str:
    """What the coordinator saw of a logs job's sessions, by how the vocabulary was gathered."""
    if statistics["mode"] == "secure aggregation":
        seen = (
            f"only, for each hashed event token, how many of the {len(statistics['sites'])} "
            f"sites hold it (the union: {statistics['events']} tokens) and their total training "
            f"windows ({statistics['rows']}), then masked updates"
        )
    else:
        seen = (
            "each site's set of hashed event tokens and its training windows, then its updates "
            "in clear"
        )
    return (
        f"The coordinator saw {seen} and these few metrics; never a session, an event's text "
        "or the hashing key."
    )
