"""The robustness acceptance partitions: every attack family is held by several organizations,
so leaving dishonest ones out loses no family (docs/robustness.md)."""

from collections import Counter

import pytest

from fedsec.data.taxonomy import BENIGN
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario


@pytest.mark.parametrize(("name", "holders"), [("unsw-5org-shared", 2), ("unsw-10org-shared", 3)])
def test_every_attack_family_is_trained_on_by_several_organizations(data_dir, name, holders):
    federation = build_federation(load_scenario(name, ["data.max_rows=4000"]), data_dir)
    held = Counter(f for org in federation.orgs for f in org.train_families if f != BENIGN)
    assert len(held) >= 5
    assert set(held.values()) == {holders}
