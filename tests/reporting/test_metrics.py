import numpy as np

from fedsec.reporting.metrics import classification_metrics, pooled_rate, unseen_metrics


def test_classification_metrics_by_hand():
    true = np.array(["benign", "benign", "benign", "benign", "dos", "dos", "recon", "recon"])
    pred = np.array(["benign", "benign", "benign", "dos", "dos", "benign", "recon", "dos"])
    m = classification_metrics(true, pred)
    assert m["benign_fpr"] == 0.25
    assert m["attack_recall"] == 0.75
    assert m["per_family_recall"] == {"benign": 0.75, "dos": 0.5, "recon": 0.5}
    f1_benign, f1_dos, f1_recon = 2 * 0.75 * 0.75 / 1.5, 2 * (1 / 3) * 0.5 / (1 / 3 + 0.5), 2 / 3
    assert abs(m["macro_f1"] - (f1_benign + f1_dos + f1_recon) / 3) < 1e-6


def test_unseen_metrics_count_any_attack_family_as_detection():
    true = np.array(["dos", "dos", "recon", "recon", "benign"])
    pred = np.array(["dos", "recon", "benign", "recon", "benign"])
    m = unseen_metrics(true, pred, {"dos", "recon"})
    assert m["unseen_family_recall"] == 0.75
    assert m["unseen_family_correct"] == 0.5
    assert m["unseen_per_family_recall"] == {"dos": 1.0, "recon": 0.5}
    assert unseen_metrics(true, pred, set())["unseen_rows"] == 0


def test_pooled_rate_weights_by_rows_and_ignores_empty_parts():
    assert pooled_rate([(1.0, 1), (0.0, 3), (None, 0)]) == 0.25
    assert pooled_rate([(None, 0)]) is None
