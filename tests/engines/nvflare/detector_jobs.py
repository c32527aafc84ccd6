"""A one-class detector job (autoencoder or Deep SVDD) of the consortium run over the in-memory
transport by sites holding their kits' keys."""

from __future__ import annotations

from fedsec.engines.nvflare.coordinator import Coordinator
from tests.engines.nvflare.releases import keyed_job
from tests.engines.nvflare.variants import anomaly_scenario

DETECTOR_JOB = "job-detector"
ROUNDS = 3


def detector_job(consortium, project, kind: str, transport, tmp_path_factory, strategy=None,
                 coordinator=Coordinator, **privacy):  # fmt: skip
    """(scenario, fetched result) of a ``kind`` job of sites holding their kits' keys, under
    ``strategy`` (None: the scenario's), run by ``coordinator`` (``privacy``: the scenario's
    privacy settings changed)."""
    data, base = consortium
    scenario = anomaly_scenario(base).model_copy(update={"rounds": ROUNDS})
    if strategy is not None:
        named = scenario.strategy.model_copy(update={"name": strategy, "server_lr": None})
        scenario = scenario.model_copy(update={"strategy": named})
    if privacy:
        changed = scenario.privacy.model_copy(update=privacy)
        scenario = scenario.model_copy(update={"privacy": changed})
    # the kind the admin releases; Deep SVDD with its own server step, as the built-in scenario
    models = scenario.anomaly.model_copy(update={"models": [kind], "svdd_server_lr": 0.01})
    scenario = scenario.model_copy(update={"anomaly": models})
    fetched = tmp_path_factory.mktemp("fetched")
    result = keyed_job(
        scenario, data, project, DETECTOR_JOB, transport, fetched, [2], kind, coordinator
    )
    return scenario, result
