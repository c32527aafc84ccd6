"""The family classifier's scoring on a real slice of UNSW-NB15: the range guard's second look."""

import numpy as np
import pytest

from fedsec.models import mlp_arrays


@pytest.fixture(scope="module")
def scored(guarded_unsw):
    """A guarded model (fresh weights) and a real organization's preprocessed training rows."""
    scenario, orgs, shared = guarded_unsw
    model = shared.classifier(scenario)
    return model, shared.pre.transform(orgs[0].train.frame)


def test_a_row_at_the_edge_takes_its_pulled_in_copys_scores_when_they_are_more_malicious(scored):
    model, x = scored
    plain = mlp_arrays.probabilities(model.params_, x)
    found = model.proba_from_matrix(x)
    rows, pulled = model.preprocessor.pulled_in(x)
    again = mlp_arrays.probabilities(model.params_, pulled)
    higher = model.malicious_score(again) > model.malicious_score(plain[rows])
    assert 0 < higher.sum() < len(rows)  # both cases occur on these rows
    expected = plain.copy()
    expected[rows[higher]] = again[higher]
    assert np.array_equal(found, expected)
    untouched = np.setdiff1d(np.arange(len(x)), rows)
    assert np.array_equal(found[untouched], plain[untouched])
    assert (model.malicious_score(found) >= model.malicious_score(plain)).all()


def test_the_second_look_gives_a_row_the_same_scores_in_any_chunk(scored):
    model, x = scored
    whole = model.proba_from_matrix(x)
    parts = [model.proba_from_matrix(x[start : start + 97]) for start in range(0, len(x), 97)]
    assert np.array_equal(np.concatenate(parts), whole)


def test_decided_gives_the_rows_each_rows_scores_are_of(scored):
    """A row whose pulled-in copy's scores were kept is that copy in the decided rows (what
    its alert's reasons explain); the probabilities are those of the decided rows."""
    model, x = scored
    proba, used = model.decided(x)
    rows, pulled = model.preprocessor.pulled_in(x)
    plain = mlp_arrays.probabilities(model.params_, x)
    again = mlp_arrays.probabilities(model.params_, pulled)
    higher = model.malicious_score(again) > model.malicious_score(plain[rows])
    assert 0 < higher.sum() < len(rows)
    expected = x.copy()
    expected[rows[higher]] = pulled[higher]
    assert np.array_equal(used, expected) and not np.array_equal(used, x)
    assert np.array_equal(proba, model.proba_from_matrix(x))
    assert np.array_equal(mlp_arrays.probabilities(model.params_, used), proba)
