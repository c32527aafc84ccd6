"""A folder given as input: the files in it that a format reads.

A SOC points its tools at a log folder: a Zeek log directory (``conn.log`` beside ``dns.log``,
``http.log`` ..., rotated ``conn.00:00:00-01:00:00.log.gz``), a folder of daily CSV or Parquet
exports, a folder of captures. A folder stands for the files directly in it that its format
reads, by name, sorted by name (rotated logs sort in time; Zeek's current ``conn.log`` after its
rotated ones). Hidden files, sub-folders (not entered) and files of other kinds are skipped and
named; the content of every file taken is still checked by its reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedsec.core.errors import InputError
from fedsec.data.logs import LOG_FORMATS

#: Compressions the readers open (:func:`fedsec.data.readers._input.read_bytes`).
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")
TABLES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".arrow", ".feather", ".ipc")
CAPTURES = (".pcap", ".pcapng", ".cap")
LOGS = (".log", ".txt", ".csv", ".json", ".jsonl")
#: Zeek's connection logs (``conn.log``, rotated ``conn.<when>.log``), ASCII or JSON.
ZEEK_CONN = re.compile(r"conn(\.[^/]+)?\.(log|json|jsonl)")


@dataclass(frozen=True)
class FolderFiles:
    """What a folder stands for: the files read and those skipped."""

    folder: Path
    fmt: str
    read: list[Path]
    skipped: list[Path]

    def describe(self, shown: int = 5) -> str:
        """One line: how many files are read and which entries were skipped."""
        count = len(self.read)
        line = f"{self.folder}: reading {count} {self.fmt} file{'' if count == 1 else 's'}"
        if self.skipped:
            names = [p.name + ("/" if p.is_dir() else "") for p in self.skipped]
            more = f", +{len(names) - shown} more" if len(names) > shown else ""
            line += f"; skipped {len(names)} ({', '.join(names[:shown])}{more})"
        return line


def looked_for(fmt: str) -> str:
    """What a folder's files must be named to be read as ``fmt``."""
    if fmt == "zeek":
        return "Zeek connection logs (conn.log, rotated conn.*.log, compressed or not)"
    suffixes = CAPTURES if fmt == "pcap" else LOGS if fmt in LOG_FORMATS else TABLES
    return f"files ending in {', '.join(suffixes)} (compressed or not)"


def reads(fmt: str, name: str) -> bool:
    """Whether a file named ``name`` in a folder is one that format ``fmt`` reads."""
    if name.startswith("."):
        return False
    bare = name.lower()
    for compression in COMPRESSIONS:
        bare = bare.removesuffix(compression)
    if fmt == "zeek":
        return ZEEK_CONN.fullmatch(bare) is not None
    suffixes = CAPTURES if fmt == "pcap" else LOGS if fmt in LOG_FORMATS else TABLES
    return bare.endswith(suffixes)


def folder_files(folder: Path, fmt: str) -> FolderFiles:
    """The files directly in ``folder`` that ``fmt`` reads, sorted by name; a folder holding
    none is refused, naming what was looked for."""
    try:
        entries = sorted(folder.iterdir(), key=lambda path: path.name)
    except OSError as error:
        raise InputError(folder, f"cannot list the folder ({error.strerror})") from None
    read = [p for p in entries if p.is_file() and reads(fmt, p.name)]
    skipped = [p for p in entries if p not in read and not p.name.startswith(".")]
    if not read:
        raise InputError(
            folder, f"holds no file --format {fmt} reads: looked for {looked_for(fmt)}"
        )
    return FolderFiles(folder, fmt, read, skipped)


def expand_folders(paths: Sequence[Path], fmt: str) -> tuple[list[Path], list[FolderFiles]]:
    """``paths`` with each folder replaced by the files in it that ``fmt`` reads, in place
    (files stay as given), and what each folder stood for."""
    expanded: list[Path] = []
    folders: list[FolderFiles] = []
    for path in paths:
        if Path(path).is_dir():
            found = folder_files(Path(path), fmt)
            folders.append(found)
            expanded.extend(found.read)
        else:
            expanded.append(path)
    return expanded, folders
