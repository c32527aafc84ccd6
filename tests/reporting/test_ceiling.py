"""Macro-F1's ceiling on a real UNSW-NB15 slice: a model knowing only some families scores 0
on the others, so its macro-F1 is the ceiling times its F1 over the families it knows."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from fedsec.reporting.ceiling import ceiling_metrics
from fedsec.reporting.metrics import classification_metrics
from tests.conftest import unsw_training_frame


@pytest.fixture(scope="module")
def labelled():
    frame = unsw_training_frame().sample(4000, random_state=5)
    true = np.where(frame["label"] == 0, "benign", frame["attack_cat"].str.lower()).astype(object)
    return true, frame


def test_a_model_knowing_two_families_is_capped_at_their_share(labelled):
    true, frame = labelled
    trained = {"benign", "generic", "exploits"}
    # a crude real-feature rule that can only answer families it knows
    pred = np.where(frame["sttl"] < 60, "benign", "generic").astype(object)
    pred[(frame["service"] == "http").to_numpy() & (pred != "benign")] = "exploits"
    got = ceiling_metrics(true, pred, trained)
    scored = len(set(true))
    assert got["families_scored"] == scored >= 8
    assert got["families_trained_scored"] == 3
    assert got["macro_f1_ceiling"] == pytest.approx(3 / scored, abs=1e-6)
    macro = classification_metrics(true, pred)["macro_f1"]
    assert macro <= got["macro_f1_ceiling"]
    assert macro == pytest.approx(got["macro_f1_trained_families"] * 3 / scored, abs=1e-5)
    restricted = f1_score(true, pred, labels=["benign", "exploits", "generic"], average="macro")
    assert got["macro_f1_trained_families"] == pytest.approx(restricted, abs=1e-6)


def test_a_model_knowing_every_family_has_no_cap(labelled):
    true, _ = labelled
    got = ceiling_metrics(true, true.copy(), set(true))
    assert got["macro_f1_ceiling"] == 1.0 and got["macro_f1_trained_families"] == 1.0
