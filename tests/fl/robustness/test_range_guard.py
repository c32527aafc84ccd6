"""The range guard's edge copies on a real slice of UNSW-NB15, as a site encodes its rows."""

import numpy as np
import pytest

from fedsec.bundles.fields import Preprocessing
from fedsec.fl.robustness.range_guard import RangeGuardConfig, edge_copies, numeric_inputs


@pytest.fixture(scope="module")
def site(guarded_unsw):
    scenario, orgs, shared = guarded_unsw
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


def test_the_second_look_pulls_only_the_inputs_at_the_clip_in_on_their_side(site):
    pre, x, _, guard = site
    assert guard.recheck_level == pre.recheck == 1.5
    rows, pulled = pre.pulled_in(x)
    numeric = numeric_inputs(pre.names)
    at_edge = np.abs(x[:, numeric]) >= 2.0
    assert np.array_equal(rows, np.flatnonzero(at_edge.any(axis=1)))
    assert 0 < len(rows) < len(x)  # real flows: some rows reach the edge, others do not
    before, after = x[rows][:, numeric], pulled[:, numeric]
    edge = at_edge[rows]
    assert np.array_equal(after[edge], np.sign(before[edge]) * 1.5)
    assert np.array_equal(after[~edge], before[~edge])
    others = np.setdiff1d(np.arange(x.shape[1]), numeric)  # flags, buckets: unchanged
    assert np.array_equal(pulled[:, others], x[rows][:, others])
    assert pre.to_json()["recheck"] == 1.5
    assert Preprocessing(**pre.to_json()).build().recheck == 1.5  # what a bundle reads back


def test_without_a_second_look_nothing_is_pulled_in(site):
    pre, x, _, _ = site
    off = type(pre).from_json({**pre.to_json(), "recheck": None})
    assert off.pulled_in(x) is None and "recheck" not in off.to_json()
    assert pre.pulled_in(np.clip(x, -1.0, 1.0)) is None  # no row at the edge


@pytest.mark.parametrize(
    "recheck, why",
    [(2.0, "must be below range_guard.clip"), (True, "or false to turn"), (-0.5, "greater than")],
)
def test_a_second_look_at_or_beyond_the_clip_is_refused(recheck, why):
    with pytest.raises(ValueError, match=why):
        RangeGuardConfig(recheck=recheck)
    assert RangeGuardConfig(recheck=False).recheck_level is None
