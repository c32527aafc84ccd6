"""The deployment section renders whatever a site's evaluation reply holds: a reply that is not
an object, or that lacks figures, is a row that says so, not a traceback after the job ran."""

from fedsec.experiments.deployed_report import render

SECTION = {
    "rounds": [],
    "dropouts": {},
    "error": None,
    "task": "classification",
    "sites": ["org1", "org2", "org3", "org4"],
    "job_id": "job-1",
    "protection": "secure aggregation",
}


def test_malformed_replies_are_rows_that_say_so():
    replies = {
        "org1": ["not", "an", "object"],
        "org2": {"error": "no reply to the evaluation"},
        "org3": {"validation": None, "test": {"roc_auc": 0.9}},
        "org4": {"test": "x"},
    }
    text = render(SECTION | {"site_evaluation": replies})
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if "| org" in line}
    assert "error: a malformed reply" in rows["org1"]
    assert "error: no reply to the evaluation" in rows["org2"]
    assert "not judged (no gate)" in rows["org3"]
    assert "error: None" in rows["org4"]
