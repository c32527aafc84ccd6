"""The ``[logs]`` section's validation (``fedsec.scenarios.logs_config``)."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import load_scenario

LINES = ['logs.sources.0.format="loghub-structured"', 'logs.sources.0.session_key="blk_[0-9-]+"']


def test_a_source_with_a_session_key_and_a_session_window_is_refused():
    """The key won and the window was ignored; refused when the scenario is loaded, before
    anything is read, naming the source and both options (the rule detect applies too)."""
    with pytest.raises(ConfigError) as refused:
        load_scenario("hdfs-5org", [*LINES, "logs.sources.0.session_window=60"])
    said = " ".join(str(refused.value).split())
    assert "logs.sources.0: session_key" in said and "session_window" in said
    assert "given together" in said
    assert load_scenario("hdfs-5org", LINES).logs.sources[0].session_key == "blk_[0-9-]+"
