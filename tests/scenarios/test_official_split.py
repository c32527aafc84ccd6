"""A source's own test files (NSL-KDD's KDDTest+) lose the rows that repeat a training vector."""

import re

import numpy as np
import pandas as pd

from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario

CAPPED = "data.max_rows=30000"


def _vectors(table, view: str) -> pd.Series:
    """One hash per row of the model's features in ``view``."""
    return pd.util.hash_pandas_object(table.features(view).frame, index=False)


def _seen_in_training(federation) -> set[int]:
    view = federation.view
    return {
        int(h) for org in federation.orgs for t in (org.train, org.val) for h in _vectors(t, view)
    }


def _left_out(federation) -> tuple[int, int]:
    """(rows left out, official test rows) as the run's note counts them."""
    (note,) = [n for n in federation.notes if "official test files" in n]
    left, total = re.search(r"(\d+) of (\d+) rows", note).groups()
    return int(left), int(total)


def test_no_official_test_row_repeats_a_vector_any_organization_trains_on(data_dir):
    federation = build_federation(load_scenario("nslkdd-5org-disjoint", [CAPPED]), data_dir)
    seen = _seen_in_training(federation)
    repeats = sum(
        int(np.isin(_vectors(o.test, federation.view).to_numpy(), list(seen)).sum())
        for o in federation.orgs
    )
    assert repeats == 0
    kept = load_scenario("nslkdd-5org-disjoint", [CAPPED, "split.group_duplicates=false"])
    whole = build_federation(kept, data_dir)
    before = sum(len(o.test) for o in whole.orgs)
    after = sum(len(o.test) for o in federation.orgs)
    left_out, total = _left_out(federation)
    assert total == before and left_out == before - after > 0
    assert not [n for n in whole.notes if "official test files" in n]


def test_the_canonical_view_collapses_more_rows_and_leaves_more_out(data_dir):
    """In the 17-field canonical view many KDD connection records become one vector: the rows
    left out are counted in that view, not in the native one."""
    native = build_federation(load_scenario("nslkdd-5org-disjoint", [CAPPED]), data_dir)
    canonical = build_federation(
        load_scenario("nslkdd-5org-disjoint", [CAPPED, "data.view=canonical"]), data_dir
    )
    assert _left_out(canonical)[0] > _left_out(native)[0]
    seen = _seen_in_training(canonical)
    for org in canonical.orgs:
        assert not np.isin(_vectors(org.test, "canonical").to_numpy(), list(seen)).any()
