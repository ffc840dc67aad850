"""The test tree's import rules: fixtures come from conftest files, helpers from helper modules, and devtools/ and
bench/ stand on their own (tests, bench and `make idp` all import the test IdP from devtools)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def _is_test_code(module: str) -> bool:
    """A test module or a conftest: neither is a library for other files."""
    last = module.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def test_nothing_imports_a_test_module_or_a_conftest():
    offenders = [f"{path.relative_to(ROOT)} imports {module}"
                 for path in sorted((ROOT / "tests").rglob("*.py")) for module in _imports(path)
                 if module.split(".")[0] == "tests" and _is_test_code(module)]
    assert offenders == []


def test_devtools_and_bench_do_not_import_tests():
    offenders = [f"{path.relative_to(ROOT)} imports {module}"
                 for folder in ("devtools", "bench") for path in sorted((ROOT / folder).rglob("*.py"))
                 for module in _imports(path) if module == "tests" or module.startswith("tests.")]
    assert offenders == []
    assert (ROOT / "devtools" / "__init__.py").exists()  # `python -m devtools.idp` (make idp) imports it
