"""FLTrust's root data: the coordinator's own synthetic flows, never an organization's."""

import numpy as np
import pandas as pd
import pytest

from fedsec.engines.root_data import root_set, simulated_rows


def test_simulated_flows_in_the_canonical_view_with_families_and_the_same_seed_same_rows():
    frame, families = simulated_rows("canonical", 200, seed=3)
    assert len(frame) == len(families) == 800
    assert {"duration_s", "fwd_bytes", "protocol", "service"} <= set(frame.columns)
    assert "benign" in set(families) and len(set(families)) > 2
    again, same = simulated_rows("canonical", 200, seed=3)
    pd.testing.assert_frame_equal(frame, again)
    np.testing.assert_array_equal(families, same)


def test_root_set_keeps_known_families_as_class_indices():
    frame = pd.DataFrame({"v": range(6)})
    families = np.array(["benign", "ics_attack", "dos", "benign", "dos", "recon"])
    x, y = root_set(frame, families, ["benign", "dos", "exploits"], rows=3)
    assert list(x["v"]) == [0, 2, 3] and list(y) == [0, 1, 0]
    with pytest.raises(ValueError, match="no simulated flow"):
        root_set(frame, families, ["worms"], rows=3)
