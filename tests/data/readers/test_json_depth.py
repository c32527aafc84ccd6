"""How deep JSON lines nest, counted before a parser recurses into them: exact for the lines
that could be too deep, brackets inside strings not counted."""

import json

from fedsec.data.readers.json_depth import MAX_DEPTH, deep_lines, depth, too_deep


def _nested(levels: int) -> str:
    return '{"ts":1,"a":' + "[" * levels + "]" * levels + "}"


def test_depth_counts_brackets_that_nest_and_not_those_in_text():
    assert depth(b'{"ts":1,"a":[[1],[2]]}') == 3
    assert depth(json.dumps({"uri": "[" * 500 + '\\"{' * 50}).encode()) == 1
    assert depth(_nested(50_000).encode()) == 50_001


def test_deep_lines_names_only_the_lines_over_the_limit():
    lines = [
        '{"ts":1,"service":"http"}',
        _nested(MAX_DEPTH),  # one object and MAX_DEPTH arrays: one level too deep
        json.dumps({"ts": 2, "history": "[" * 1000}),  # many brackets, all in text
        _nested(MAX_DEPTH - 1),  # exactly at the limit
        _nested(50_000),
    ]
    data = "\n".join(lines).encode()
    assert deep_lines(data) == [1, 4]
    assert [too_deep(line) for line in lines] == [False, True, False, False, True]
    assert deep_lines(b"") == [] and deep_lines(b'{"a":[1,2,3]}\n') == []
