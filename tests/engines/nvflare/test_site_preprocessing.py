"""A site bounds a job's pooled preprocessing by its own rows, and the admin pins the canonical
columns: a coordinator wrote a mean far from every site's values (every standardized input at
the clip), a vanishing standard deviation, or a column list without a site's columns, and the
sites trained and signed whatever they were sent."""

from __future__ import annotations

import copy

import pytest

from fedsec.engines.nvflare.setups import ModelSetup
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.site_preprocessing import SetupRefused, preprocessing_refusal
from fedsec.features.moments import local_stats, merge_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.features.preprocess_schema import Preprocessing

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def sites(consortium) -> dict[str, Site]:
    data, scenario = consortium
    return {
        n: Site(config_from_scenario(scenario, n, data, False), data) for n in scenario.org_names()
    }


@pytest.fixture(scope="module")
def pooled(consortium, sites) -> dict:
    """What an honest coordinator fits from every site's training rows."""
    _, scenario = consortium
    parts = [
        local_stats(s.data(scenario.view).train.features(scenario.view)) for s in sites.values()
    ]
    return fit_preprocessor(merge_stats(parts), scenario.model.hash_buckets).to_json()


def features(consortium, sites, name: str):
    view = consortium[1].view
    return sites[name].data(view).train.features(view)


def doctored(pooled: dict, column: str, **fields: float) -> Preprocessing:
    pre = copy.deepcopy(pooled)
    (spec,) = [c for c in pre["numeric"] if c["name"] == column]
    spec.update(fields)
    return Preprocessing.model_validate(pre)


def test_an_honest_pooling_passes_every_site(consortium, sites, pooled):
    pre = Preprocessing.model_validate(pooled)
    for name in sites:
        assert preprocessing_refusal(pre, features(consortium, sites, name), 0.01) is None


@pytest.mark.parametrize("shift", ["mean", "std"])
def test_a_pooled_mean_far_away_or_a_tiny_spread_is_refused(consortium, sites, pooled, shift):
    name = sorted(sites)[0]
    column = "fwd_bytes"
    spec = next(c for c in pooled["numeric"] if c["name"] == column)
    blinding = (
        {"mean": spec["mean"] + 1e4 * spec["std"]}
        if shift == "mean"
        else {"std": spec["std"] * 1e-4}
    )
    why = preprocessing_refusal(
        doctored(pooled, column, **blinding), features(consortium, sites, name), 0.01
    )
    assert why is not None and why.startswith(f"column {column}:") and "\n" not in why


def test_the_bound_follows_the_sites_declared_share(consortium, sites, pooled):
    """Three pooled deviations off is within what a site of 1% may honestly see, not one of
    half the values: the bound is the law of total variance's, nothing tighter."""
    name, column = sorted(sites)[0], "duration_s"
    own = features(consortium, sites, name)
    spec = next(c for c in pooled["numeric"] if c["name"] == column)
    pre = doctored(pooled, column, mean=spec["mean"] + 3 * spec["std"])
    assert preprocessing_refusal(pre, own, 0.01) is None
    assert preprocessing_refusal(pre, own, 0.5) is not None


def test_a_dropped_column_is_refused(consortium, sites, pooled):
    name = sorted(sites)[0]
    pre = copy.deepcopy(pooled)
    pre["numeric"] = [c for c in pre["numeric"] if c["name"] != "fwd_bytes"]
    pre["names"] = [n for n in pre["names"] if not n.startswith("fwd_bytes")]
    smaller = Preprocessing.model_validate(pre)
    why = preprocessing_refusal(smaller, features(consortium, sites, name), 0.01)
    assert why is not None and "fwd_bytes" in why


def test_a_site_trains_no_model_of_a_blinding_preprocessing(consortium, sites, pooled):
    _, scenario = consortium
    name = sorted(sites)[0]
    pre = doctored(pooled, "fwd_bytes", std=1e-6).model_dump(mode="json")
    setup = ModelSetup.model_validate(
        {
            "view": scenario.view,
            "preprocessing": pre,
            "classes": ["benign", "dos"],
            "architecture": {
                "inputs": len(pre["names"]),
                "outputs": 2,
                "hidden": [8],
                "dropout": 0.0,
            },
        }
    )
    with pytest.raises(SetupRefused, match="pooled preprocessing column fwd_bytes"):
        sites[name].prepared(setup)
