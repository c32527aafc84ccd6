"""The admin's per-family release rules (fedsec.engines.nvflare.release_families) on the
figures the sites signed: a site's gate verdict finding a family taken away, and the scenario's
floor on each family's test detection pooled over the sites that hold it."""

from fedsec.engines.nvflare.release_families import (
    dropped_families,
    family_refusal,
    pooled_test_detection,
)
from fedsec.engines.nvflare.release_quality import quality_refusal


def reply(test: dict, gate: dict | None = None) -> dict:
    families = {f: {"detection_rate": r, "rows": n} for f, (r, n) in test.items()}
    return {"validation": {}, "test": {"families": families}, "gate": gate}


def test_a_signed_family_drop_refuses_whatever_the_gates_action():
    flagged = {"accepted": True, "flagged": True, "judged": True,
               "families": {"brute_force": {"judged": True, "dropped": True},
                            "recon": {"judged": True, "dropped": False}}}  # fmt: skip
    evaluated = {"office": reply({}), "cloud": reply({}, flagged)}
    assert dropped_families(evaluated["cloud"]) == ["brute_force"]
    why = family_refusal(evaluated)
    assert why is not None and why.startswith(
        "the acceptance gate of cloud found the final model's detection of brute_force taken"
    )
    assert quality_refusal(evaluated, 0.01) == why


def test_a_verdict_without_families_or_with_none_dropped_allows_it():
    kept = {"families": {"recon": {"judged": False, "dropped": False}}}
    evaluated = {"a": reply({}, None), "b": reply({}, kept), "c": reply({}, {"families": 3})}
    assert family_refusal(evaluated) is None


def test_the_floor_pools_each_family_over_the_sites_holding_it():
    evaluated = {
        "cloud": reply({"brute_force": (0.0, 85), "ddos": (0.5, 10)}),
        "plant": reply({"brute_force": (0.4, 15)}),
    }
    assert pooled_test_detection(evaluated) == {
        "brute_force": (0.06, 2, 100),
        "ddos": (0.5, 1, 10),
    }
    assert family_refusal(evaluated, 0.05) is None
    why = family_refusal(evaluated, 0.1)
    assert why == (
        "the sites' signed test detection of brute_force 6.0% (2 sites, 100 rows) is under "
        "the scenario's release floor evaluation.release_min_family_detection = 0.1"
    )
    assert family_refusal(evaluated, 0.0) is None  # no floor


def test_without_counts_each_site_weighs_alike():
    evaluated = {"a": reply({"dos": (0.0, 85)}), "b": reply({"dos": (0.4, 15)})}
    del evaluated["b"]["test"]["families"]["dos"]["rows"]  # a site withholding its counts
    assert pooled_test_detection(evaluated) == {"dos": (0.2, 2, 0)}


def test_malformed_figures_are_not_read():
    evaluated = {"a": {"test": {"families": {"dos": {"detection_rate": "high"},
                                             "recon": {"detection_rate": float("nan")},
                                             "web_attack": {"detection_rate": True}}}},
                 "b": {"test": {"families": []}}, "c": {"test": None}}  # fmt: skip
    assert pooled_test_detection(evaluated) == {}
