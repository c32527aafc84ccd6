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


class Slots:
    """The slots of ``count`` lines, added in order."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._arrays: list[pa.Array] = [strings([""])]
        self._size = 1
        self._constants: dict[str, int] = {"": EMPTY}
        self._columns: list[np.ndarray | int] = []
        self._texts: list[str | None] = []  # each slot's text, if the same on every line

    def pool(self, texts: pa.Array | Sequence[str | None]) -> int:
        """Add texts to the pool; where the first one is (null texts are empty)."""
        array = texts if isinstance(texts, pa.Array) else strings(texts)
        start = self._size
        self._arrays.append(array if array.type == pa.string() else array.cast(pa.string()))
        self._size += len(array)
        return start

    def constant(self, text: str) -> int:
        if text not in self._constants:
            self._constants[text] = self.pool([text])
        return self._constants[text]

    def text(self, text: str, where: np.ndarray | None = None) -> None:
        """The same text on every line (or only on the lines ``where`` is true)."""
        if where is None and self._texts and self._texts[-1] is not None:
            self._texts[-1] += text  # after a text on every line: one slot for both
            return
        self.add(self.constant(text), where)
        self._texts[-1] = text if where is None else None

    def choice(self, cases: Sequence[tuple[np.ndarray, str]], otherwise: str = "") -> None:
        """On each line the text of the first case true there (else ``otherwise``): one slot."""
        texts = [self.constant(text) for _, text in cases]
        self.add(np.select([where for where, _ in cases], texts, self.constant(otherwise)))

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

    def coded(
        self, texts: Sequence[str], codes: np.ndarray, where: np.ndarray | None = None
    ) -> None:
        """``texts[code]`` per line."""
        self.add(self.pool(texts) + np.asarray(codes, dtype=np.int64), where)

    def add(self, index: np.ndarray | int, where: np.ndarray | None = None) -> None:
        """Pool indexes (one, or one per line) as the next slot; empty where ``where`` is false."""
        if where is not None:
            index = np.where(where, index, EMPTY)
        self._columns.append(index)
        self._texts.append(None)

    def lines(self) -> bytes:
        """The lines' text, slot after slot, line after line, as UTF-8 bytes."""
        if self.count == 0 or not self._columns:
            return b""
        order = np.empty((len(self._columns), self.count), dtype=np.int64)
        for k, (column, text) in enumerate(zip(self._columns, self._texts, strict=True)):
            order[k] = column if text is None else self.constant(text)
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
        slots.text(separator, present & before)
        for piece in pieces:
            if isinstance(piece, str):
                slots.text(piece, present)
            else:
                slots.add(piece, present)
        before |= present
