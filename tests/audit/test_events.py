"""Every audit event type is named in portal/audit/events.py and documented in the README."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from portal.audit.events import Event

ROOT = Path(__file__).resolve().parents[2]


def _record_calls():
    for path in (ROOT / "portal").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit":
                yield path.relative_to(ROOT), node


def test_the_application_passes_event_types_from_events_py_never_literals():
    calls = list(_record_calls())
    assert len(calls) > 20  # the walk finds the writers
    literals = [f"{path}:{node.lineno}" for path, node in calls if len(node.args) > 1 and any(
                isinstance(part, ast.Constant) and isinstance(part.value, str) for part in ast.walk(node.args[1]))]
    assert literals == []
    missing_actor = [f"{path}:{node.lineno}" for path, node in calls
                     if not any(k.arg == "actor" for k in node.keywords)]
    assert missing_actor == []  # record() has no implicit actor; the ast check names the call that forgot


def test_readme_documents_every_event_type():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("Event types written today", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"`([a-z_]+\.[a-z_.]+)`", "\n".join(
        line.split("|")[1] for line in table.splitlines() if line.startswith("| `"))))
    assert {e.value for e in Event} == documented
