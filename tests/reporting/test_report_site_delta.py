"""report.md names a site's δ where it differs from the section's: its ε means nothing
next to another δ."""

from fedsec.reporting.report import privacy_lines


def _privacy(spent: dict) -> dict:
    return {
        "secure_aggregation": {"enabled": False},
        "sample_dp": {
            "enabled": True,
            "target_epsilon": 1.0,
            "delta": 1e-6,
            "max_grad_norm": 1.0,
            "per_arm": {"federated": {"site1": spent}},
        },
        "client_dp": {"enabled": False},
        "coordinator_observes": [],
    }


def _line(spent: dict) -> str:
    return next(line for line in privacy_lines(_privacy(spent)) if "site1" in line)


def test_a_site_told_at_another_delta_names_it():
    line = _line({"epsilon": 1.32, "delta": 1e-5, "epsilon_rounded_up": True})
    assert "site1 ε≤1.32 (at δ=1e-05" in line


def test_a_site_at_the_sections_delta_does_not_repeat_it():
    assert "δ" not in _line({"epsilon": 1.57, "delta": 1e-6, "epsilon_rounded_up": True})
