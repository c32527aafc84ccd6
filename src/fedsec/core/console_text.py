"""Text from data (class and family names, organizations, labels) as the console may show
it: control characters (ESC, CR, BEL ...), bidirectional and other invisible format characters
escaped as Python writes them (``\\x1b``), and rich markup escaped, so that no file can move
the cursor, retitle the terminal, colour the output or forge a line of its own."""

from __future__ import annotations

import unicodedata

from rich.markup import escape


def printable(text: object) -> str:
    """``text`` with every character that is not printable (but the space) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def shown(text: object) -> str:
    """:func:`printable`, its rich markup escaped: for table cells and printed lines."""
    return escape(printable(text))


def holds_control(text: str) -> bool:
    """Whether ``text`` holds a control or formatting character (Unicode categories Cc and
    Cf: escapes, bidirectional overrides, zero-width characters), which no name may."""
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)
