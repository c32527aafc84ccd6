"""How deep JSON lines nest, found before a parser recurses into them.

pyarrow's JSON reader recurses once per level and overflows the C stack (a segfault) on one
line of some tens of thousands of ``[``; Python's ``json`` raises ``RecursionError`` from about
a thousand. Zeek's logs nest one or two levels, so a line nesting deeper than
:data:`MAX_DEPTH` is refused before either parser sees it. The check costs one pass of numpy
over the block's bytes: a line's count of ``[`` and ``{`` bounds its depth from above, and
only lines over the limit by that count (rare: brackets inside text) are measured exactly.
"""

from __future__ import annotations

import re

import numpy as np

#: The deepest nesting a JSON line may have (Zeek writes 1 or 2 levels).
MAX_DEPTH = 64

#: A JSON string (its escapes included), whose brackets do not nest.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def deep_lines(data: bytes, limit: int = MAX_DEPTH) -> list[int]:
    """The (0-based) numbers of the lines of ``data`` (split at ``\\n``) nesting deeper than
    ``limit``."""
    raw = np.frombuffer(data, dtype=np.uint8)
    opens = np.flatnonzero((raw | 0x20) == ord("{"))  # "[" (0x5B) or "{" (0x7B): 3x a lookup
    if opens.size <= limit:
        return []
    breaks = np.flatnonzero(raw == ord("\n"))
    counts = np.bincount(np.searchsorted(breaks, opens), minlength=breaks.size + 1)
    suspects = np.flatnonzero(counts > limit)
    if not suspects.size:
        return []
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [raw.size]])
    return [int(i) for i in suspects if depth(data[starts[i] : ends[i]]) > limit]


def depth(line: bytes) -> int:
    """How deep ``line`` nests (brackets in JSON strings do not count)."""
    bare = _STRING.sub(b"", line)
    steps = _STEP[np.frombuffer(bare, dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def too_deep(line: str, limit: int = MAX_DEPTH) -> bool:
    """Whether one line nests deeper than ``limit`` (counted only when it could)."""
    if line.count("[") + line.count("{") <= limit:
        return False
    return depth(line.encode("utf-8", "surrogatepass")) > limit
