"""A chunk's alert lines assembled at once: each line is a sequence of slots (the same slots for
every line), each slot one text per line taken from a pool of texts (constants, one text per
distinct value, one per alert or per cell); the lines are the pool taken in slot order, one
Arrow ``take``: no string is built per alert, and an absent piece takes the empty text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from fedsec.detect.arrow_text import float_pieces, json_float, strings

#: The pool's empty text: an absent piece.
EMPTY = 0


#: The most texts one slot of few texts may choose from (two such slots in a row are merged
#: into one choosing from their pairs, up to this many).
CHOICES = 128


class Slots:
    """The slots of ``count`` lines, added in order. A slot of few texts (a constant, a text
    present on some lines, a choice, a text per family) is kept as each line's code into its
    texts, and merged with the slot of few texts before it: fewer slots, a shorter take."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._arrays: list[pa.Array] = [strings([""])]
        self._size = 1
        self._columns: list[np.ndarray | int | None] = []  # pool indexes (None: few texts)
        self._few: list[tuple[np.ndarray | int, list[str]] | None] = []  # codes, texts

    def pool(self, texts: pa.Array | Sequence[str | None]) -> int:
        """Add texts to the pool; where the first one is (null texts are empty)."""
        array = texts if isinstance(texts, pa.Array) else strings(texts)
        start = self._size
        self._arrays.append(array if array.type == pa.string() else array.cast(pa.string()))
        self._size += len(array)
        return start

    def text(self, text: str, where: np.ndarray | None = None) -> None:
        """The same text on every line (or only on the lines ``where`` is true)."""
        if where is None:
            self.coded([text], 0)
        else:
            self.coded(["", text], np.asarray(where, dtype=np.int64))

    def choice(self, cases: Sequence[tuple[np.ndarray, str]], otherwise: str = "") -> None:
        """On each line the text of the first case true there (else ``otherwise``)."""
        codes = np.select([where for where, _ in cases], list(range(1, len(cases) + 1)), 0)
        self.coded([otherwise] + [text for _, text in cases], codes)

    def coded(
        self, texts: Sequence[str], codes: np.ndarray | int, where: np.ndarray | None = None
    ) -> None:
        """``texts[code]`` per line (nothing where ``where`` is false)."""
        texts, codes = list(texts), np.asarray(codes, dtype=np.int64)
        if where is not None:
            texts, codes = ["", *texts], np.where(where, codes + 1, 0)
        last = self._few[-1] if self._few else None
        if last is not None and len(last[1]) * len(texts) <= CHOICES:
            before, written = last
            self._few[-1] = (before * len(texts) + codes, [a + b for a in written for b in texts])
            return
        self._columns.append(None)
        self._few.append((codes, texts))

    def indexes(self, texts: pa.Array) -> np.ndarray:
        """Pool one text per line (null: none); their indexes."""
        return self.pool(texts) + np.arange(self.count)

    def each(self, texts: pa.Array, where: np.ndarray | None = None) -> None:
        """One text per line (null: none)."""
        self.add(self.indexes(texts), where)

    def numbers(
        self, values: np.ndarray, scalar: Callable[[float], str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pool the numbers' texts (:func:`float_pieces`); each one's pool index, and which
        need their ``.0`` (a slot of its own after the number's)."""
        texts, index, whole = float_pieces(values, scalar)
        return self.pool(texts) + index, whole

    def number(self, values: np.ndarray, scalar: Callable[[float], str] = json_float) -> None:
        """One number per line."""
        index, whole = self.numbers(values, scalar)
        self.add(index)
        self.text(".0", whole)

    def add(self, index: np.ndarray | int, where: np.ndarray | None = None) -> None:
        """Pool indexes (one, or one per line) as the next slot; empty where ``where`` is false."""
        if where is not None:
            index = np.where(where, index, EMPTY)
        self._columns.append(index)
        self._few.append(None)

    def lines(self) -> bytes:
        """The lines' text, slot after slot, line after line, as UTF-8 bytes."""
        if self.count == 0 or not self._columns:
            return b""
        order = np.empty((len(self._columns), self.count), dtype=np.int64)
        for k, (column, few) in enumerate(zip(self._columns, self._few, strict=True)):
            order[k] = column if few is None else self.pool(few[1]) + few[0]
        pool = pa.concat_arrays(self._arrays)
        texts = pool.take(pa.array(order.T.ravel()))
        offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)
        first, last = offsets[texts.offset], offsets[texts.offset + len(texts)]
        return texts.buffers()[2][int(first) : int(last)].to_pybytes()


def separated(slots: Slots, fields: Sequence[tuple[np.ndarray, list]], separator: str) -> None:
    """Fields where present (``(present, pieces)``, each piece a text or pool indexes), with
    ``separator`` between those present on a line."""
    before = np.zeros(slots.count, dtype=bool)
    for present, pieces in fields:
        if before.any():
            slots.text(separator, present & before)
        for piece in pieces:
            if isinstance(piece, str):
                slots.text(piece, present)
            else:
                slots.add(piece, present)
        before |= present
