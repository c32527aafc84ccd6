"""Named input files scored batch by batch with ``--rejects``: a historical scan goes on past
a malformed line, which is set aside with its file and data row, while the alerts of the good
rows keep their file's path and data row (:mod:`fedsec.detect.batch_reading` reads the
batches, as it does a followed file's or a pipe's).

Without ``--rejects`` the files are read whole by the format's reader (one bad row refuses the
run, exit status 2, no alerts file): the default stays strict, and a scan that sets lines aside
says how many in its summary.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from fedsec.core.errors import EmptyInput, InputError
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.batch_reading import Rejects, batch_tables
from fedsec.detect.records import DetectionSummary
from fedsec.detect.scoring import ChunkScorer, ScorersTogether, empty_notes, score_chunks
from fedsec.detect.tails import BATCH_BYTES, Batch, Tail, binary_kind, header_kind
from fedsec.detect.threads import scoring_workers


class FileTail(Tail):
    """A finished text file's lines, batch by batch, to its end (its last line taken without
    its newline, as the whole file's reader takes it)."""

    def __init__(self, path: Path, header: str, batch_bytes: int = BATCH_BYTES) -> None:
        super().__init__(path, header, batch_bytes)
        if not self._open():
            raise InputError(path, "not found")

    def poll(self) -> Batch | None:
        """The next batch of lines, or None at the file's end (then :attr:`ended`)."""
        if self.ended:
            return None
        batch = super().poll()
        if batch is None:
            self.ended = True
            batch = self._batch(b"\n") if self.partial.strip() else None
        return batch

    def _check_text(self) -> None:
        assert self.handle is not None
        kind = binary_kind(self.handle.read(8))
        self.handle.seek(0)
        if kind is not None:
            raise InputError(
                self.path,
                f"is {kind}, not text: --rejects sets aside lines of text files (decompress "
                "it first, or score it without --rejects)",
            )


def score_files_setting_aside(
    score: ChunkScorer,
    fmt: str,
    inputs: Sequence[Path],
    out: Path,
    rejects_path: Path,
    mapping: Mapping | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DetectionSummary:
    """The files scored batch by batch, in order, the lines the reader refuses (and flagged
    rows whose time, address or port is not one) set aside in ``rejects_path``; the alerts
    into ``out`` atomically (or to standard output for ``-``)."""
    rejects = Rejects(rejects_path)
    empty: tuple[list[Path], list[Path]] = ([], [])  # header only, skipped
    tables = _tables(score, fmt, inputs, mapping, rejects, empty)
    try:
        together = ScorersTogether([score])
        score_chunks(together, tables, [out], workers=scoring_workers(workers), progress=progress)
    finally:
        rejects.close()
    summary = score.summary()
    summary.notices.extend(empty_notes(*empty))
    if rejects.count:
        summary.notices.append(
            f"{rejects.count} line(s) refused (by the format's reader, or a flagged row's "
            f"unreadable time, address or port) were set aside in {rejects_path}"
        )
    return summary


def _tables(
    score: ChunkScorer,
    fmt: str,
    inputs: Sequence[Path],
    mapping: Mapping | None,
    rejects: Rejects,
    empty: tuple[list[Path], list[Path]],
) -> Iterator[FlowTable]:
    """Each file's batches read by the format's reader, refused lines set aside; a file of no
    line after its header read whole (:func:`_no_lines`; ``empty``: the files of a header
    only, and those skipped)."""
    with tempfile.TemporaryDirectory(prefix="fedsec-rejects-") as scratch:
        for path in inputs:
            tail = FileTail(path, header_kind(fmt, path))
            staging = Path(scratch) / f"batch{''.join(Path(path).suffixes[-1:])}"
            lines = 0
            try:
                while (batch := tail.poll()) is not None:
                    lines += len(batch.lines)
                    check = score.refuse_unreadable_times
                    yield from batch_tables(batch, staging, path, fmt, mapping, rejects, check)
            finally:
                tail.close()
            if not lines:
                yield from _no_lines(fmt, path, mapping, empty, several=len(inputs) > 1)
    if len(empty[1]) == len(inputs):
        raise EmptyInput(empty[1][0], "file is empty")


def _no_lines(
    fmt: str,
    path: Path,
    mapping: Mapping | None,
    empty: tuple[list[Path], list[Path]],
    several: bool,
) -> Iterator[FlowTable]:
    """A file of no line after its header, read whole: a header only is checked as a file with
    rows is (and added to ``empty[0]``); an empty file is refused, or, one of ``several``,
    skipped (added to ``empty[1]``), as without ``--rejects``."""
    try:
        yield from read_chunks(fmt, [path], mapping, header_only=empty[0])
    except EmptyInput:
        if not several:
            raise
        empty[1].append(Path(path))
