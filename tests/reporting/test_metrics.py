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


def test_macro_f1_and_recalls_are_scikit_learns_on_every_mix_of_families():
    """One scikit-learn call gives recall and F1 (it was two): the same figures as
    ``f1_score(average="macro")`` and ``recall_score(average=None)``, families never
    predicted and predictions of absent families included."""
    from sklearn.metrics import f1_score, recall_score

    from fedsec.data.taxonomy import family_order

    families = np.array(["benign", "dos", "recon", "exploit", "generic", "backdoor", "malware"])
    rng = np.random.default_rng(0)
    for _ in range(50):
        present = int(rng.integers(1, len(families) + 1))
        true = families[rng.integers(0, present, int(rng.integers(1, 500)))]
        pred = families[rng.integers(0, len(families), len(true))]
        labels = family_order(true)
        metrics = classification_metrics(true, pred)
        f1 = f1_score(true, pred, labels=labels, average="macro", zero_division=0)
        recalls = recall_score(true, pred, labels=labels, average=None, zero_division=0)
        assert metrics["macro_f1"] == round(float(f1), 6)
        assert list(metrics["per_family_recall"].values()) == [round(float(r), 6) for r in recalls]
