"""The consortium's scenario as other jobs: another task's, or under other privacy settings."""

from fedsec.scenarios.config import Scenario, parse_scenario


def anomaly_scenario(scenario: Scenario, **privacy: object) -> Scenario:
    """The consortium's organizations and files, as a one-class detection scenario."""
    raw = scenario.model_dump(mode="json", exclude_none=True)
    raw |= {"task": "anomaly", "anomaly": {"models": ["ae", "svdd"], "iforest": False}}
    raw["privacy"] |= privacy
    return parse_scenario(raw)


def with_privacy(consortium, **privacy) -> tuple:
    data, scenario = consortium
    return data, scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update=privacy)}
    )


def scenario_with_privacy(scenario: Scenario, **privacy: object) -> Scenario:
    """``scenario`` with ``privacy`` changed in its ``[privacy]`` section, parsed again (so the
    scenario's own checks apply)."""
    raw = scenario.model_dump(mode="json", exclude_none=True)
    raw["privacy"] |= privacy
    return parse_scenario(raw)
