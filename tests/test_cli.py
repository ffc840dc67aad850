"""portal/cli.py: the shared printing path escapes control characters from stored data."""
from __future__ import annotations

import json

import pytest

from portal.cli import clean


@pytest.mark.parametrize("raw, shown", [
    ("a\x1b[2Jb", "a\\u001b[2Jb"),
    ("\x1b]0;title\x07", "\\u001b]0;title\\u0007"),
    ("x\x9by", "x\\u009by"),
    ("ab\u202ecd", "ab\\u202ecd"),
    ("over\rwrite", "over\\u000dwrite"),
    ("line\r\nnext\tcol", "line\r\nnext\tcol"),
    ("Zoë 東京", "Zoë 東京"),
])
def test_clean_keeping_lines(raw, shown):
    assert clean(raw) == shown


def test_clean_cell_escapes_line_breaks():
    assert clean("a\nb\tc", keep_lines=False) == "a\\u000ab\\u0009c"


def test_cleaned_json_stays_valid_and_equal():
    document = json.dumps({"name": "x\x9b\u202ey"}, ensure_ascii=False)
    assert json.loads(clean(document)) == {"name": "x\x9b\u202ey"}
