"""Alert values as text a column at a time, in Arrow's kernels: numbers written as Python writes
them (``json.dumps``, ``repr``; orjson's the same), texts converted once per distinct value and
checked for characters to escape in numpy; the pieces :mod:`fedsec.detect.line_slots` assembles
into lines."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: A piece of every alert's text: one string per alert (None: absent), or one for all.
Piece = pa.Array | pa.ChunkedArray | str


def join(*pieces: Piece) -> pa.Array:
    """The pieces one after the other, per alert (absent if one is)."""
    return pc.binary_join_element_wise(*pieces, "", null_handling="emit_null")


def present(texts: pa.Array) -> np.ndarray:
    """Which alerts have a text."""
    return pc.is_valid(texts).to_numpy(zero_copy_only=False)


def rows_with(texts: pa.Array, bad: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Which texts hold a byte ``bad`` flags (given the UTF-8 bytes as a uint8 array)."""
    texts = texts.cast(pa.large_string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    found = np.zeros(len(texts), dtype=bool)
    data = texts.buffers()[2]
    if data is None or len(texts) == 0:
        return found
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset :][: len(texts) + 1]
    flagged = np.flatnonzero(bad(np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]))
    if len(flagged):
        found[np.searchsorted(offsets, flagged + offsets[0], side="right") - 1] = True
    return found


def strings(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


def str_texts(values: np.ndarray) -> pa.Array:
    """``str`` of each value: texts as they are, other values one by one."""
    try:
        found = pa.array(values)  # only texts are inferred as strings
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        found = None
    if found is None or found.type != pa.string() or found.null_count:
        return strings([str(v) for v in values.tolist()])
    return found


def constant(text: str, count: int) -> pa.Array:
    return pa.array(np.full(count, text, dtype=object), pa.string())


def by_distinct(values: pa.Array, convert: Callable[[str], str | None]) -> pa.Array:
    """``convert`` of each text (absent stays absent), called once per distinct text."""
    found = pc.dictionary_encode(values)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    texts = [convert(v) for v in found.dictionary.to_pylist()]
    return strings(texts).take(found.indices)


def json_float(value: float) -> str:
    """``json.dumps`` of one float (NaN and the infinities as JavaScript names them)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def float_texts(values: np.ndarray, scalar: Callable[[float], str] = json_float) -> pa.Array:
    """``scalar`` of each value, flattened (default ``json.dumps``; ``float.__repr__`` for
    ``str``): :func:`float_pieces` put together."""
    texts, index, whole = float_pieces(values, scalar)
    texts = texts.take(pa.array(index))
    if whole.any():
        mask = pa.array(whole)
        texts = pc.replace_with_mask(texts, mask, join(texts.filter(mask), ".0"))
    return texts


def float_pieces(
    values: np.ndarray, scalar: Callable[[float], str] = json_float
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``scalar`` of each value, flattened, as texts, each value's index into them, and which
    values are whole (their text lacks its ``.0``). Arrow writes the same shortest digits as
    ``repr`` where both write them in fixed notation (1e-4 <= |v| < 1e16, zero), whole numbers
    as integers (faster); the rest (Arrow's scientific notation, NaN, the infinities, -0.0) is
    written by ``scalar`` value by value."""
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore"):
        size = np.abs(flat)
        fixed = ((size >= 1e-4) & (size < 1e16)) | ((flat == 0.0) & ~np.signbit(flat))
        whole = fixed & (flat == np.floor(flat))
    index = np.empty(len(flat), dtype=np.int64)
    integers = np.flatnonzero(whole)
    index[integers] = np.arange(len(integers))
    rest = np.flatnonzero(~whole)
    texts = pc.cast(pa.array(flat[rest]), pa.string())
    odd = ~fixed[rest] | pc.match_substring(texts, "e").to_numpy(zero_copy_only=False)
    if odd.any():
        written = strings([scalar(v) for v in flat[rest[odd]].tolist()])
        texts = pc.replace_with_mask(texts, pa.array(odd), written)
    index[rest] = len(integers) + np.arange(len(rest))
    numbers = pc.cast(pa.array(flat[integers].astype(np.int64)), pa.string())
    return pa.concat_arrays([numbers, texts]), index, whole


def int_texts(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def fixed_width(data: bytes, width: int, count: int) -> pa.Array:
    """``count`` ASCII texts of ``width`` characters each, one after the other in ``data``."""
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
