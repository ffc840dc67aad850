"""Import rules, checked on the source: STYLE.md's layout (no cycles in portal/, nothing imports views or tests), and
the test tree's (fixtures come from conftest files, helpers from helper modules; devtools/ and bench/ stand on their
own: tests, bench and `make idp` all import the test IdP from devtools)."""
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


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph(folders=("portal", "devtools", "bench")) -> dict[str, set[str]]:
    """module -> the modules it imports (absolute names; `from a import b` counts a.b when that is a module)."""
    files = {_module(p): p for folder in folders for p in (ROOT / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        # Imports only a type checker runs count too: a cycle there is still two modules that need each other.
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names
                             if f"{node.module}.{alias.name}" in files)
        graph[name] = found
    return graph


def test_portal_does_not_import_tests():
    offenders = {m: sorted(i for i in imported if i == "tests" or i.startswith("tests."))
                 for m, imported in _graph().items()}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_nothing_imports_views_but_the_package_that_re_exports_its_blueprint():
    offenders = {}
    for module, imported in _graph(("portal",)).items():
        for target in imported:
            if target.endswith(".views") and module != target.rsplit(".", 1)[0]:
                offenders.setdefault(module, []).append(target)
    assert offenders == {}


def test_no_import_cycles_between_portal_modules():
    graph = {m: {i for i in imported if i.startswith("portal.")} for m, imported in _graph(("portal",)).items()}
    # A package's __init__ re-exporting its own views is the blueprint pattern, not a dependency of the package.
    for module in graph:
        graph[module] = {i for i in graph[module] if i in graph and not (module == "portal" or
                                                                          i.startswith(module + "."))}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
