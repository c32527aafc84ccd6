"""The short job under secure aggregation and the hostile coordinators of its sums: one that
alters a round's sum, one that answers the verify phase for the sites; and what a survivor
signs of a sum it verified."""

from __future__ import annotations

import hashlib

import numpy as np

from fedsec.engines.nvflare.signing import json_digest
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.short_jobs import fetched_job
from tests.engines.nvflare.variants import with_privacy

VERIFY = "fedsec_secagg_verify"


def digest(total: np.ndarray) -> str:
    """sha256 of a secure sum's uint32 values (little-endian), as the sites answer it."""
    return hashlib.sha256(np.ascontiguousarray(total, np.dtype("<u4")).tobytes()).hexdigest()


def signed(total: np.ndarray, survivors: list[str]) -> str:
    """What a survivor signs into its chain of a training round's sum it verified: its
    sha256 bound to the survivors it was revealed over."""
    return json_digest({"sum": digest(total), "survivors": sorted(survivors)})


def secure_job(consortium, project, transport, tmp_path_factory, **privacy) -> tuple:
    """(scenario, the fetched result, the transport) of a 3-round job of gated sites under
    secure aggregation (no HE; ``privacy`` adds to it), over ``transport``."""
    protected = with_privacy(consortium, secure_aggregation=True, **privacy)
    return fetched_job(protected, project, transport, tmp_path_factory)


class AlteredSum(Recording):
    """A hostile coordinator: the sum it announces in round 2 is one fixed-point unit off in
    one value (a change of 2^-16 to one weight of the average, check values kept)."""

    def __init__(self, sites, vanish=None):
        super().__init__(sites, vanish)
        self.answers: dict[str, object] = {}

    def exchange(self, task, data, targets, timeout):
        if task == VERIFY and data["round"] == 2:
            total = np.array(data["sum"], dtype=np.uint32, copy=True)
            total[0] ^= np.uint32(1)
            replies = super().exchange(task, data | {"sum": total}, targets, timeout)
            self.answers = dict(replies)
            return replies
        return super().exchange(task, data, targets, timeout)


class SkipsVerify(Recording):
    """A hostile coordinator: it never asks the sites to verify a round's sum, and answers for
    them (the statistics' sums it has verified: test_release_weights.py skips those)."""

    def skips(self, round_: int) -> bool:
        return round_ >= 1

    def exchange(self, task, data, targets, timeout):
        if task == VERIFY and self.skips(data["round"]):
            return {site: {"verified": digest(data["sum"])} for site in targets}
        return super().exchange(task, data, targets, timeout)
