"""A follow state file edited to hostile JSON (nesting thousands deep, an integer of thousands
of digits) is one error naming the file, not a traceback."""

import pytest

from fedsec.core.errors import InputError
from fedsec.detect.follow_state import load


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"position": ' + "9" * 5000 + "}", "an integer of more than 4,300 digits"),
    ],
)
def test_a_hostile_state_file_is_refused_by_name(tmp_path, text, problem):
    state = tmp_path / "follow.state"
    state.write_text(text)
    with pytest.raises(InputError, match=f"is not a follow state \\({problem}\\)"):
        load(state)
