"""A site's own record of a job's chain of models (:mod:`fedsec.engines.nvflare.site_chain`):
kept in its ledger file round by round, and signed whole with its evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.ledger_file import LedgerFile, job_id
from fedsec.engines.nvflare.signing import FIELD, params_digest
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_chain import SiteChain
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.short_jobs import JOB, gated_site, short_job

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
        assert all(e.pop("release") == "" for e in chain)  # the job's nonce, kept for a resume
        signed = json.loads(result.evaluation[name][FIELD]["statement"])["chain"]
        assert signed == chain


def test_a_site_carries_only_its_own_ledger_records_of_the_job_named(tmp_path):
    """Whatever job the coordinator names, a site carries the entries its ledger file kept of
    it (under the nonce it signed them for), never this job's again; entries written before
    the nonce was kept are left out."""
    entry = {"round": 1, "global": "g1", "update": "u1", "samples": 5}
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps({"jobs": {}, "chains": {
        "first@00": [entry],  # an older file's: no nonce
        "first@01": [entry | {"release": "r" * 32}, entry | {"round": 2, "release": "r" * 32}],
        "other@02": [entry | {"release": "s" * 32}],
    }}))  # fmt: skip
    chain = SiteChain(None, "again", "", LedgerFile(ledger, "again"))
    chain.entries = [{"round": 3, "global": "g3", "update": None, "samples": None}]
    carried = chain.record((("first", 2), ("again", 2), ("unknown", 2)))
    assert [(e.get("job"), e.get("release"), e["round"]) for e in carried] == [
        ("first", "r" * 32, 1), ("first", "r" * 32, 2), (None, None, 3)
    ]  # fmt: skip
    assert chain.record() == chain.entries


def test_the_control_variate_sent_is_noted_signed_and_kept(project, tmp_path):
    """The sha256 of a control variate sent with the global model joins the entry, the round
    statement (null when none was sent) and the ledger file, which reads it back."""
    keys = project.identity("cloud")
    chain = SiteChain(keys, JOB, "", LedgerFile(tmp_path / "ledger.json", JOB))
    params, control = [np.ones((2, 2), np.float32)], [np.full((2, 2), 0.5, np.float32)]
    chain.received(1, {"view": "canonical"}, params)
    assert "control" not in chain.entries[-1]
    assert json.loads(chain.sent(params, 5)["statement"])["control"] is None
    chain.received(2, {"view": "canonical"}, params, control)
    assert chain.entries[-1]["control"] == params_digest(control)
    assert json.loads(chain.sent(None, None)["statement"])["control"] == params_digest(control)
    again = SiteChain(None, "again", "", LedgerFile(tmp_path / "ledger.json", "again"))
    (kept,) = again.file._read().chains.values()
    assert [e.get("control") for e in kept] == [None, params_digest(control)]


def test_the_control_change_sent_in_clear_is_signed_and_kept(project, tmp_path):
    """The sha256 of the control-variate change a site sends with its update in clear joins
    the entry, the round statement (null when none was sent) and the ledger file."""
    chain = SiteChain(project.identity("cloud"), JOB, "", LedgerFile(tmp_path / "l.json", JOB))
    params, change = [np.ones((2, 2), np.float32)], [np.full((2, 2), 0.25, np.float32)]
    chain.received(1, {"view": "canonical"}, params)
    assert json.loads(chain.sent(params, 5)["statement"])["extra"] is None
    chain.received(2, {"view": "canonical"}, params)
    assert json.loads(chain.sent(params, 5, change)["statement"])["extra"] == params_digest(change)
    again = SiteChain(None, "again", "", LedgerFile(tmp_path / "l.json", "again"))
    (kept,) = again.file._read().chains.values()
    assert [e.get("extra") for e in kept] == [None, params_digest(change)]


def test_the_training_terms_are_noted_signed_and_kept(project, tmp_path):
    """The digest of the round's training terms joins the entry, the round statement and
    the ledger file, which reads it back."""
    chain = SiteChain(project.identity("cloud"), JOB, "", LedgerFile(tmp_path / "l.json", JOB))
    params = [np.ones((2, 2), np.float32)]
    chain.received(1, {"view": "canonical"}, params, terms="t" * 64)
    assert chain.entries[-1]["terms"] == "t" * 64
    assert json.loads(chain.sent(params, 5)["statement"])["terms"] == "t" * 64
    again = SiteChain(None, "again", "", LedgerFile(tmp_path / "l.json", "again"))
    (kept,) = again.file._read().chains.values()
    assert [e.get("terms") for e in kept] == ["t" * 64]


def test_the_class_weights_and_the_statistics_sum_are_noted_and_kept(project, tmp_path):
    """The digest of the round's class weights joins the entry, the round statement and the
    ledger file; the digest of the statistics sum the site verified joins the entry and the
    ledger only (the evaluation signs it in the chain, the round statement has no field)."""
    chain = SiteChain(project.identity("cloud"), JOB, "", LedgerFile(tmp_path / "l.json", JOB))
    params = [np.ones((2, 2), np.float32)]
    chain.received(1, {"view": "canonical"}, params, weights="w" * 64, statistics="s" * 64)
    assert chain.entries[-1]["weights"] == "w" * 64
    assert chain.entries[-1]["statistics"] == "s" * 64
    statement = json.loads(chain.sent(params, 5)["statement"])
    assert statement["weights"] == "w" * 64 and "statistics" not in statement
    again = SiteChain(None, "again", "", LedgerFile(tmp_path / "l.json", "again"))
    (kept,) = again.file._read().chains.values()
    assert [(e.get("weights"), e.get("statistics")) for e in kept] == [("w" * 64, "s" * 64)]
    with pytest.raises(TypeError, match=r"a chain entry notes no \['sum'\]"):
        chain.received(2, {"view": "canonical"}, params, sum="x" * 64)
