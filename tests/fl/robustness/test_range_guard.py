"""The range guard's edge copies on a real slice of UNSW-NB15, as a site encodes its rows."""

import numpy as np
import pytest

from fedsec.bundles.fields import Preprocessing
from fedsec.fl.robustness.range_guard import RangeGuardConfig, edge_copies, numeric_inputs
from fedsec.scenarios.config import load_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification.arms import learner
from fedsec.tasks.classification.experiment import org_frames

SMALL = ["data.max_rows=3000", "range_guard={}"]


@pytest.fixture(scope="module")
def site(data_dir):
    scenario = load_scenario("unsw-5org-shared", SMALL)
    orgs = org_frames(build_federation(scenario, data_dir))
    shared = learner(scenario, orgs, "global")
    org = orgs[0]
    x = shared.pre.transform(org.train.frame)
    rows = slice(0, 300)  # enough to test on, small enough to match every copy to its row
    return shared.pre, x[rows], shared.encode_labels(org.y_train)[rows], scenario.range_guard


def test_the_model_clips_its_inputs_to_the_guards_range(site):
    pre, x, _, guard = site
    assert pre.clip == guard.clip == 2.0
    assert np.abs(x[:, numeric_inputs(pre.names)]).max() == pytest.approx(2.0)
    assert pre.to_json()["clip"] == 2.0 and type(pre).from_json(pre.to_json()).clip == 2.0
    assert Preprocessing(**pre.to_json()).build().clip == 2.0  # what a bundle reads back


def test_edge_copies_keep_the_originals_and_each_copys_label(site):
    pre, x, y, guard = site
    edged_x, edged_y = edge_copies(x, y, pre.names, guard, seed=0, site="org1")
    n = len(y)
    assert len(edged_y) == 2 * n
    assert np.array_equal(edged_x[:n], x) and np.array_equal(edged_y[:n], y)
    copies = edged_x[n:]
    # each copy is one of the site's rows: find it by its untouched inputs, compare labels
    numeric = numeric_inputs(pre.names)
    sources = _sources(x, copies)
    changed = copies != x[[rows[0] for rows in sources]]
    assert changed[:, np.setdiff1d(np.arange(x.shape[1]), numeric)].sum() == 0  # flags, buckets
    per_copy = changed.sum(axis=1)
    assert per_copy.max() <= 3
    edges = copies[changed]
    assert set(np.unique(np.abs(edges))) == {2.0}
    # (UNSW-NB15 holds identical rows with different labels: any of the closest rows may be it)
    assert all(label in y[rows] for label, rows in zip(edged_y[n:], sources, strict=True))


def _sources(x: np.ndarray, copies: np.ndarray) -> list[np.ndarray]:
    """For each copy, the original rows it may have been made from (fewest inputs differ)."""
    distance = (np.abs(copies[:, None, :] - x[None, :, :]) > 1e-6).sum(axis=2)
    return [np.flatnonzero(d == d.min()) for d in distance]


def test_edge_copies_are_drawn_from_each_sites_own_seeded_stream(site):
    pre, x, y, guard = site
    first = edge_copies(x, y, pre.names, guard, seed=0, site="org1")[0]
    again = edge_copies(x, y, pre.names, guard, seed=0, site="org1")[0]
    other = edge_copies(x, y, pre.names, guard, seed=0, site="org2")[0]
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_no_augmentation_is_the_site_rows_unchanged(site):
    pre, x, y, _ = site
    same_x, same_y = edge_copies(x, y, pre.names, RangeGuardConfig(augment=0.0), 0, "org1")
    assert same_x is x and same_y is y


def test_with_a_reach_the_edge_values_lie_between_the_clip_and_the_reach(site):
    pre, x, y, _ = site
    edged_x, _ = edge_copies(x, y, pre.names, RangeGuardConfig(reach=6.0), seed=0, site="org1")
    copies = np.abs(edged_x[len(y) :])
    beyond = copies[copies > 2.0 + 1e-6]
    assert len(beyond) > 0.5 * len(y)  # about 2 per copy, nearly all beyond the clip
    assert beyond.max() <= 6.0
    with pytest.raises(ValueError, match=r"below range_guard\.clip"):
        RangeGuardConfig(clip=3.0, reach=2.5)
