"""The admin pins a canonical view's columns and their order; for a final model sent with a
blinding pooled preprocessing every site signs a refusal naming the column
(:mod:`fedsec.engines.nvflare.site_preprocessing`), and the release says so. Before, the sites
signed the blinded model's figures (and a site that trained no round could not judge it)."""

from __future__ import annotations

import copy

import pytest

from fedsec.engines.nvflare.release_setup import setup_refusal, setup_terms
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.features.preprocess import NumericSpec, Preprocessor
from tests.engines.nvflare.short_jobs import gated_site, refused, short

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def honest(short_honest_job):
    return short_honest_job


def _without(pre: dict, column: str) -> dict:
    numeric = [c for c in pre["numeric"] if c["name"] != column]
    names = [n for n in pre["names"] if n.split("__")[0] != column]
    return pre | {"numeric": numeric, "names": names}


def _reordered(pre: dict) -> dict:
    numeric = pre["numeric"][::-1]
    specs = [NumericSpec(**c) for c in numeric]
    names = Preprocessor(specs, pre["categorical"], pre["hash_buckets"]).names
    return pre | {"numeric": numeric, "names": names}


@pytest.mark.parametrize("doctor", [_without, _reordered])
def test_the_admin_pins_the_canonical_columns_and_their_order(honest, doctor):
    scenario, fetched, _ = honest
    setup = read_result(fetched).setup
    terms = setup_terms(scenario)
    assert setup_refusal(parse_setup(setup), terms) is None
    pre = (
        doctor(setup["preprocessing"], "fwd_bytes")
        if doctor is _without
        else doctor(setup["preprocessing"])
    )
    architecture = setup["architecture"] | {"inputs": len(pre["names"])}
    changed = parse_setup(setup | {"preprocessing": pre, "architecture": architecture})
    why = setup_refusal(changed, terms)
    assert why is not None and why.startswith("setup columns.numeric is")


def test_sites_sign_a_refusal_of_a_blinding_final_setup(
    honest, consortium, project, signer, tmp_path, tmp_path_factory
):
    """A final model sent with a pooled mean 10^4 deviations off: each site signs a refusal
    naming the column, and the admin's release says so (no figure of a blinded model)."""
    scenario, fetched, link = honest
    result = read_result(fetched)
    (request,) = [d for d in link.sent if "target_fpr" in d]
    request = copy.deepcopy(request)
    spec = next(c for c in request["model"]["preprocessing"]["numeric"] if c["name"] == "fwd_bytes")
    spec["mean"] += 1e4 * spec["std"]
    for name in result.evaluation:
        fresh = gated_site(short(consortium), project, name)
        result.evaluation[name] = fresh.handle("fedsec_evaluate", copy.deepcopy(request))
        assert result.evaluation[name]["accepted"] is False
    result.setup = request["model"]
    relayed = read_result(write_result(result, tmp_path_factory.mktemp("relayed")))
    refused(scenario, relayed, r"refused the final model \(.*pooled preprocessing column "
            r"fwd_bytes", project, signer, tmp_path)  # fmt: skip
