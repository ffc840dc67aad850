"""How admin pages show stored values: wrap points at separators, audit details as "key: value" lines."""
from __future__ import annotations

import json
import re

from markupsafe import Markup, escape

# After these a long value (URL, email, IP, fingerprint, event type) may wrap; never inside a word.
_AFTER_SEPARATOR = re.compile(r"(?<=[./:@_\-=,;&?#|])")
# Shown in their own column or paragraph, so not repeated among the details.
SHOWN_ELSEWHERE = ("fix", "reference")


def breakable(value) -> Markup:
    """The value as escaped text with a <wbr> wrap point after each separator."""
    text = "" if value is None else str(value)
    return Markup("<wbr>").join(escape(part) for part in _AFTER_SEPARATOR.split(text) if part)


def _text(value) -> str:
    if value is None or value == "" or value == {} or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def detail_lines(details: dict | None, prefix: str = "") -> list[tuple[str, str]]:
    """An event's details as (key, value) lines; nested objects become dotted keys (before.active: yes)."""
    lines: list[tuple[str, str]] = []
    for key in sorted(details or {}):
        if not prefix and key in SHOWN_ELSEWHERE:
            continue
        value = details[key]
        if isinstance(value, dict) and value:
            lines.extend(detail_lines(value, f"{prefix}{key}."))
        else:
            lines.append((f"{prefix}{key}", _text(value)))
    return lines
