"""Text from data shown on the console: control and invisible format characters escaped,
rich markup escaped, printable text (accents, arrows) kept."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from fedsec.core.console_text import printable, shown

FORGED = "dos\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\r\nerror: fake\u202e"


def test_control_characters_are_escaped_and_printable_text_kept():
    assert printable(FORGED) == (
        "dos\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mRED\\r\\nerror: fake\\u202e"
    )
    assert printable("café → brute_force") == "café → brute_force"


def test_a_table_cell_shows_the_text_and_nothing_else():
    grid = Table("flagged as")
    grid.add_row(shown(f"[bold red]{FORGED}"))
    out = io.StringIO()
    Console(file=out, width=200, force_terminal=False).print(grid)
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "[bold red]dos\\x1b]0;pwned" in text
    assert "error: fake" in text.splitlines()[3]  # on the cell's own line, in the table
