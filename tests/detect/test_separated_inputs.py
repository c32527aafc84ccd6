"""``fedsec detect --format mapped`` on real CIC-IDS2017 flows exported with another separator
than a comma (a spreadsheet's ``;``, a TSV's tab, anything else): one error naming the file and
what it looks like (``semicolon-separated``, or only one column found), exit 2, nothing written.
A note that the mapping's label column was missing came first, sending the analyst after the
wrong problem."""

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import InputError
from fedsec.data.mapping import load_mapping
from fedsec.data.readers.mapped import missing_label
from tests.cli.mapped_soc import soc, soc_flows  # noqa: F401

runner = CliRunner()


@pytest.mark.parametrize(
    ("separator", "said"),
    [
        (";", "looks semicolon-separated"),
        ("\t", "looks tab-separated"),
        ("|", "looks pipe-separated"),
        (":", "only one column was found"),
    ],
)
def test_a_file_of_another_separator_is_one_clear_error(soc, tmp_path, separator, said):  # noqa: F811
    path, out = tmp_path / "flows_export.csv", tmp_path / "alerts.jsonl"
    flows = soc_flows(200)
    if separator == ":":  # its times hold colons: written without them
        flows = flows.drop(columns=["start_time"])
    flows.to_csv(path, index=False, sep=separator)
    args = ["detect", "--model", str(soc[3]), "--format", "mapped", "--mapping", str(soc[2])]
    result = runner.invoke(app, [*args, "--input", str(path), "--out", str(out)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert text.startswith("error:") and text.count("error:") == 1, text
    assert "flows_export.csv" in text and said in text
    assert "note" not in text and "not a column of the file" not in text
    assert not out.exists()


def test_the_label_check_says_the_separator_not_the_label(soc, tmp_path):  # noqa: F811
    """What ``fedsec simulate`` and ``detect`` ask of a mapped file's header first."""
    path = tmp_path / "flows.csv"
    soc_flows(200).to_csv(path, index=False, sep=";")
    with pytest.raises(InputError, match="semicolon-separated") as refused:
        missing_label(path, load_mapping(soc[2]))
    assert refused.value.path == path
    soc_flows(200).drop(columns=["verdict"]).to_csv(path, index=False)
    assert "'verdict' is not a column" in missing_label(path, load_mapping(soc[2]))
