"""A site's own record of a job's chain of models (:mod:`fedsec.engines.nvflare.site_chain`):
kept in its ledger file round by round, and signed whole with its evaluation."""

from __future__ import annotations

import json

import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.ledger_file import job_id
from fedsec.engines.nvflare.signing import FIELD, params_digest
from fedsec.engines.nvflare.site import Site
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.test_final_gate import JOB, gated_site, short_job

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def test_each_site_keeps_the_chain_it_signed_in_its_ledger_file(consortium, project, tmp_path):
    def site(shortened, name: str) -> Site:
        gated = gated_site(shortened, project, name)
        return Site(gated.config, shortened[0], keys=gated.keys, job=JOB,
                    ledger=tmp_path / f"{name}.json")  # fmt: skip

    _, sites, spec = short_job(consortium, site)
    names = list(sites)
    link = Recording(sites)
    result = Coordinator(spec, link, names).run()
    assert result.error is None
    trained = [d for d in link.sent if "plan" in d and "params" in d and "target_fpr" not in d]
    sent = [params_digest(d["params"]) for d in trained]
    for name in names:
        chains = json.loads((tmp_path / f"{name}.json").read_text())["chains"]
        assert [job_id(key) for key in chains] == [JOB]
        (chain,) = chains.values()
        assert [e["round"] for e in chain] == [1, 2, 3]
        assert [e["global"] for e in chain] == sent
        assert all(e["update"] and e["samples"] > 0 for e in chain)
        signed = json.loads(result.evaluation[name][FIELD]["statement"])["chain"]
        assert signed == chain
