"""Coordinator and sites over in-memory transports (no NVFlare): the transports, and jobs and
in-process reference models that several test files share within a test process."""

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.registry import LOADERS
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.site_data import site_logs_scenario, site_scenario
from fedsec.fl.privacy import he
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification.arms import train_federated
from fedsec.tasks.classification.experiment import org_frames

#: Each site's data as its loader read it in this process, by what the loader reads.
_READ: dict[str, Any] = {}


def read_once(load: Callable[..., Any]) -> Callable[..., Any]:
    """``load`` (a site's loader of LOADERS) reading a site's files once per process: a job's
    sites, the in-process references and every test build the same few sites again and again
    (with other gates, floors or protection, which no loader reads). Keyed by the scenario the
    loaders read the files as; each Site gets a deep copy, so none sees another's changes."""

    def read(config, view, base):
        read_as = _read_as(config, view)
        if read_as is None:  # the loader refuses this config, with its own error
            return load(config, view, base)
        key = json.dumps([read_as.model_dump_json(), view, str(base)])
        if key not in _READ:
            _READ[key] = load(config, view, base)
        return copy.deepcopy(_READ[key])

    return read


def _read_as(config, view):
    """The scenario a site's loader reads its files as (None when it holds none of them)."""
    if view == "sessions":
        return site_logs_scenario(config) if config.logs is not None else None
    return site_scenario(config, view) if config.sources else None


def read_site_files_once(monkeypatch) -> None:
    """Every loader of LOADERS behind :func:`read_once`, for one test (``monkeypatch``)."""
    for view, load in list(LOADERS.items()):
        monkeypatch.setitem(LOADERS, view, read_once(load))


class Memory:
    """Delivers tasks to Site objects; ``vanish`` maps a site to the round it stops answering."""

    def __init__(self, sites, vanish=None):
        self.sites, self.vanish, self.round = sites, vanish or {}, 0
        self.seen: list[tuple[str, str]] = []

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train":
            self.round = data["plan"]["round"]
        replies = {}
        for name in targets:
            if self.round >= self.vanish.get(name, 10**9):
                continue
            self.seen.append((task, name))
            try:
                replies[name] = self.sites[name].handle(task, data)
            except PlanRefused as error:
                replies[name] = Refusal(error)
        return replies


class Recording(Memory):
    """Also keeps every message a (curious) coordinator sends and every reply it receives."""

    def __init__(self, sites, vanish=None):
        super().__init__(sites, vanish)
        self.replies: dict[str, list[dict]] = {}
        self.sent: list[dict] = []

    def exchange(self, task, data, targets, timeout):
        self.sent.append(data)
        replies = super().exchange(task, data, targets, timeout)
        self.replies.setdefault(task, []).extend(r for r in replies.values() if isinstance(r, dict))
        return replies


class AltersOneSite(Recording):
    """A hostile coordinator: in round :attr:`altered_round` it sends :attr:`victim` alone
    the train task :meth:`alter` makes of the honest one (each site alone sees a well-formed
    task), the other sites the honest one."""

    victim = "office"
    altered_round = 2

    def alter(self, data: dict) -> dict:
        raise NotImplementedError

    def exchange(self, task, data, targets, timeout):
        if (
            task != "fedsec_train"
            or data["plan"]["round"] != self.altered_round
            or self.victim not in targets
        ):
            return super().exchange(task, data, targets, timeout)
        others = [t for t in targets if t != self.victim]
        return super().exchange(task, data, others, timeout) | super().exchange(
            task, self.alter(data), [self.victim], timeout
        )


#: Results of the deterministic jobs (below) already run in this process, by their inputs.
_RUNS: dict[str, tuple] = {}


def run(consortium, settings=None, vanish=None, transport=Memory, **privacy):
    """Run a job over ``transport``: (scenario, result, transport). A job in clear or under
    secure aggregation over a plain :class:`Memory` is deterministic (DP noise and CKKS
    encryption are not): several tests ask for the same one, so it runs once and each reads
    it (none writes to a result)."""
    data, scenario = consortium
    if privacy:
        scenario = scenario.model_copy(
            update={"privacy": scenario.privacy.model_copy(update=privacy)}
        )
    key = _run_key(data, scenario, settings, vanish) if transport is Memory else None
    if key is None:
        return _run(data, scenario, settings, vanish, transport)
    if key not in _RUNS:
        _RUNS[key] = _run(data, scenario, settings, vanish, transport)
    return _RUNS[key]


def _run_key(data, scenario, settings, vanish) -> str | None:
    privacy = scenario.privacy
    noisy = privacy.sample_dp.epsilon is not None or privacy.client_dp.noise_multiplier > 0
    if noisy or privacy.homomorphic_encryption:
        return None
    plan = settings.model_dump_json() if settings else None
    return json.dumps([str(data), scenario.model_dump_json(), plan, sorted((vanish or {}).items())])


def _run(data, scenario, settings, vanish, transport):
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    client, server = he_kit()
    require = scenario.privacy.secure_aggregation  # clear and HE runs opt out explicitly
    sites = {
        n: Site(config_from_scenario(scenario, n, data, require), data, he_key=client)
        for n in names
    }
    spec = JobSpec.from_scenario(scenario, [2], settings or DeploymentSettings(site_order=names))
    transport = transport(sites, vanish)
    return scenario, Coordinator(spec, transport, names, he_context=server).run(), transport


@functools.cache
def he_kit():
    """What HE provisioning puts in the kits: sites' secret-key context, coordinator's keyless."""
    secret = he.new_context()
    server = he.load_context(he.server_context_bytes(secret), False, "server")
    return functools.partial(he.client_context_bytes, secret), server


def federated_arm(consortium, scenario):
    data, _ = consortium
    seeding.deterministic_torch(threads=1)
    return train_federated(scenario, org_frames(build_federation(scenario, data)), lambda _: None)


#: The in-process federated models' weights already trained in this process, by their inputs.
_WEIGHTS: dict[str, list[np.ndarray]] = {}


def in_process(consortium, scenario):
    """The in-process federated model's weights. Seeded, so (without DP) trained once per
    scenario and shared by the tests asking for it; none writes to them."""
    privacy = scenario.privacy
    if privacy.sample_dp.epsilon is not None or privacy.client_dp.noise_multiplier > 0:
        return _weights(federated_arm(consortium, scenario))
    key = json.dumps([str(consortium[0]), scenario.model_dump_json()])
    if key not in _WEIGHTS:
        _WEIGHTS[key] = _weights(federated_arm(consortium, scenario))
    return _WEIGHTS[key]


def _weights(arm) -> list[np.ndarray]:
    return next(iter(arm.models.values())).get_weights()


def flat(params) -> np.ndarray:
    return np.concatenate([p.ravel().astype(np.float64) for p in params])


class Crash(Exception):
    """The coordinator process dies (after writing the round's checkpoint)."""


def crash_after(store, last):
    """A coordinator's ``on_round`` that checkpoints into ``store`` and dies after ``last``."""

    def save(checkpoint):
        store.save(checkpoint)
        if checkpoint.round == last:
            raise Crash

    return save
