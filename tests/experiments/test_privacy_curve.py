import pytest

from fedsec.core.errors import ConfigError
from fedsec.experiments.privacy_curve import privacy_curve
from fedsec.scenarios.config import load_scenario


@pytest.mark.parametrize("name", ["nslkdd-anomaly", "hdfs-5org"])
def test_a_scenario_of_another_task_is_refused_before_any_data_is_read(name, tmp_path):
    # the curve reads macro-F1 and per-family recall: only classification runs have them
    with pytest.raises(ConfigError, match=r"privacy-curve sweeps classification scenarios"):
        privacy_curve(load_scenario(name), [1.0], tmp_path / "no-data-here")
