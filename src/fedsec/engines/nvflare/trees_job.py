"""The coordinator's side of a boosted-tree job (``model.kind = "xgboost"``).

Not a round loop over parameters: after the statistics task (the classifier's, so preprocessing,
label set and class weights are the network's), the coordinator starts XGBoost's federated
server on its own host, speaking mutual TLS with the deployment kit's certificates (its
``server.crt``/``server.key``; a client must hold a certificate of the project's root CA), and
asks every site to boost the job's rounds together through it (``fedsec_boost``): each site is
one collective worker on its own rows, the server merges their quantile sketches and sums their
gradient histograms node by node, and every site ends with the same booster. The coordinator
keeps that booster only if every site returned it byte for byte, stops the server, and asks
each site to evaluate it on its held-out rows. The in-process tree arm
(:func:`fedsec.tasks.classification.trees.train_federated`) trains the same booster from the
same rows; what the server sees (every site's histograms, in clear) is why a site takes part
only if its own configuration says so (docs/trees.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.messages import boost_request
from fedsec.engines.nvflare.records import Checkpoint, JobFailed, RoundLog
from fedsec.engines.nvflare.replies import BoostReply
from fedsec.engines.xgb_federated import (
    FederationError,
    ServerFiles,
    ServerTLS,
    federated_server,
    free_port,
    require_xgboost,
)
from fedsec.fl.strategies import StrategyState
from fedsec.training.params import Params


def kit_server_tls(startup: Path) -> ServerTLS:
    """The coordinator's mutual TLS for the federated server: its deployment kit's files."""
    return ServerTLS(startup / "rootCA.pem", startup / "server.key", startup / "server.crt")


class TreeCoordinator(Coordinator):
    """A tree job's coordinator: one boosting task instead of rounds (``server_tls``: the
    federated server's mutual TLS files; ``on_phase``: told when the boosting starts and when
    the evaluation does, for the job's progress)."""

    def __init__(
        self,
        *args,
        server_tls: ServerFiles,
        on_phase: Callable[[str], None] = lambda _: None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.server_tls, self.on_phase = server_tls, on_phase

    def train(
        self,
        params: Params,
        setup: dict[str, Any],
        weights: tuple[float, ...] | None,
        state: StrategyState | None,
        first: int = 1,
    ) -> Params:
        """Every alive site boosts the job's rounds; the booster they all return."""
        sites, rounds = list(self.alive), self.spec.rounds
        port = self.spec.deployment.booster_port or free_port()
        timeout = self.spec.deployment.setup_timeout
        log = RoundLog(rounds, sites, [], None, 0.0)
        self.result.history.append(log)
        started = time.perf_counter()
        asked = boost_request(setup, rounds, sites, port, check=True)
        agreed = self.ask("fedsec_boost", asked, sites, self.timeout, log)
        self._everyone(sites, agreed, log, "agreed to boost")
        self.on_phase("boosting")
        try:
            require_xgboost()
            with federated_server(len(sites), port, self.server_tls, timeout):
                request = boost_request(setup, rounds, sites, port, check=False)
                replies = self.ask("fedsec_boost", request, sites, timeout, log)
        except (ConfigError, FederationError) as error:
            log.aborted = "the coordinator's federated server did not run"
            raise JobFailed(f"the coordinator cannot run the boosting: {error}") from None
        booster = self._agreed(sites, replies, log)
        self.on_phase("evaluating")
        log.contributed, log.seconds = sites, round(time.perf_counter() - started, 3)
        self.log(f"boosted {rounds} rounds with {sites}: {len(booster)} bytes in {log.seconds} s")
        return [np.frombuffer(booster, dtype=np.uint8).copy()]

    def _agreed(self, sites: list[str], replies: dict, log: RoundLog) -> bytes:
        """The one booster every site returned; the job fails if any site did not."""
        boosters = {}
        for site in [s for s in sites if s in replies]:
            try:
                boosters[site] = BoostReply.from_wire(replies[site]).booster
            except ValueError as error:
                self.drop(site, f"malformed booster: {error}", log)
        self._everyone(sites, boosters, log, "finished the boosting")
        if len(set(boosters.values())) != 1:
            log.aborted = "the sites returned different boosters"
            raise JobFailed("the sites ended the boosting with different boosters")
        return boosters[sites[0]]

    def _everyone(self, sites: list[str], answered: dict, log: RoundLog, what: str) -> None:
        """Boosting needs every site: the job fails, naming each site that has not ``what``."""
        gone = [s for s in sites if s not in answered]
        if gone:
            log.aborted = f"not every site {what}"
            reasons = "; ".join(f"{s}: {self.result.dropouts.get(s, 'no reply')}" for s in gone)
            raise JobFailed(f"boosting needs every site, and not every site {what} ({reasons})")

    def wire_params(self, params: Params) -> list[np.ndarray]:
        return [np.ascontiguousarray(params[0], dtype=np.uint8)]

    def restore(self, checkpoint: Checkpoint):
        raise JobFailed("a tree job boosts in one task and keeps no checkpoints: submit it again")
