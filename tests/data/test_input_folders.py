"""A folder given as input stands for the files in it that the format reads, sorted by name;
hidden files and sub-folders are skipped; a folder without such a file is refused by name."""

import pytest

from fedsec.core.errors import InputError
from fedsec.data.input_folders import expand_folders, folder_files, reads

ZEEK_DIR = [
    "conn.log",
    "conn.00:00:00-01:00:00.log.gz",
    "conn.2026-12-01-00-00-00.log",
    "conn.log.bz2",
    "dns.log",
    "http.00:00:00-01:00:00.log.gz",
    "conn-summary.txt",
    "conn_long.log",
    ".conn.log",
    "notice.log",
]


@pytest.mark.parametrize(
    ("fmt", "name", "read"),
    [
        ("zeek", "conn.log", True),
        ("zeek", "conn.00:00:00-01:00:00.log.gz", True),
        ("zeek", "conn.log.xz", True),
        ("zeek", "CONN.LOG", True),
        ("zeek", "conn.json", True),
        ("zeek", "dns.log", False),
        ("zeek", "conn_long.log", False),
        ("zeek", "conn-summary.txt", False),
        ("zeek", ".conn.log", False),
        ("unsw-nb15", "UNSW-NB15_1.csv", True),
        ("flows", "day.csv.gz", True),
        ("mapped", "export.parquet", True),
        ("nsl-kdd", "KDDTrain+.txt", True),
        ("flows", "README.md", False),
        ("flows", "alerts.jsonl", False),
        ("pcap", "capture.pcapng", True),
        ("pcap", "flows.csv", False),
        ("raw-log", "Thunderbird.log", True),
        ("raw-log", "model.safetensors", False),
    ],
)
def test_a_format_reads_the_files_named_for_it(fmt, name, read):
    assert reads(fmt, name) is read


def test_a_zeek_folder_stands_for_its_conn_logs_in_name_order(tmp_path):
    for name in ZEEK_DIR:
        (tmp_path / name).write_text("#separator \\x09\n")
    (tmp_path / "2026-12-01").mkdir()
    found = folder_files(tmp_path, "zeek")
    assert [p.name for p in found.read] == [
        "conn.00:00:00-01:00:00.log.gz",
        "conn.2026-12-01-00-00-00.log",
        "conn.log",
        "conn.log.bz2",
    ]
    skipped = [p.name for p in found.skipped]
    assert "2026-12-01" in skipped and "dns.log" in skipped and ".conn.log" not in skipped
    line = found.describe(shown=2)
    assert line.startswith(f"{tmp_path}: reading 4 zeek files; skipped 6 (2026-12-01/, ")
    assert line.endswith(", +4 more)")


def test_a_folder_without_a_file_of_the_format_is_refused_by_name(tmp_path):
    (tmp_path / "dns.log").write_text("x")
    with pytest.raises(InputError) as error:
        folder_files(tmp_path, "zeek")
    assert error.value.path == tmp_path
    assert "holds no file --format zeek reads" in str(error.value)
    assert "conn.log" in str(error.value)


def test_folders_are_expanded_in_place_and_files_kept_as_given(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("b.csv", "a.csv.gz", "notes.md"):
        (folder / name).write_text("x")
    alone = tmp_path / "extra.txt"
    expanded, folders = expand_folders([alone, folder, alone], "flows")
    assert expanded == [alone, folder / "a.csv.gz", folder / "b.csv", alone]
    assert [f.folder for f in folders] == [folder]
    assert [p.name for p in folders[0].skipped] == ["notes.md"]
