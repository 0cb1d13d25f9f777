"""The package's shape (docs/internals.md "Shape"): small modules, imports that point down, no import cycle,
nothing outside commands/ and cli.py importing benchbench.commands, project imports at the top of modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "benchbench"
MAX_LINES = 400
# imported inside a function on purpose: needs an optional extra (fastapi) at import time
LAZY_OK = {"benchbench.serve.app"}


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _targets(module: str, is_pkg: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The project modules an import statement loads: the one it names (a submodule when `from X import sub`)
    and the packages above it that the importer is not already inside (their __init__ runs too)."""
    if isinstance(node, ast.Import):
        named = [a.name for a in node.names]
    else:
        package = module.split(".") if is_pkg else module.split(".")[:-1]
        if node.level:
            package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([node.module] if node.module else [])) if node.level else node.module or ""
        named = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
    out = set()
    for name in named:
        if not name.startswith("benchbench"):
            continue
        parts = name.split(".")
        out |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)} - own
    return sorted(m for m in out if m in MODULES)


def _imports() -> list[tuple[str, str, bool]]:
    """(importer, imported, inside a function) for every project import, TYPE_CHECKING blocks left out."""
    found = []
    for module, (path, is_pkg) in MODULES.items():
        def walk(node: ast.AST, in_function: bool, module: str = module, is_pkg: bool = is_pkg) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    found.extend((module, t, in_function) for t in _targets(module, is_pkg, child))
                walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))
        walk(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


IMPORTS = _imports()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_400_lines(module):
    lines = MODULES[module][0].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by concern"


def test_only_the_cli_and_commands_import_commands():
    bad = [(a, b) for a, b, _ in IMPORTS if b.startswith("benchbench.commands")
           and not (a.startswith("benchbench.commands") or a == "benchbench.cli")]
    assert not bad, f"imports point down: {bad}"


def test_no_import_cycle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b, _ in IMPORTS:
        if a != b:
            graph[a].add(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " → ".join(cycle))


def test_project_imports_are_at_the_top_of_modules():
    inside = sorted({(a, b) for a, b, in_function in IMPORTS if in_function and b not in LAZY_OK
                     and not any(b.startswith(x + ".") or x.startswith(b + ".") for x in LAZY_OK)})
    assert not inside, f"import these at the top of the module (heavy third-party imports stay lazy): {inside}"


def test_the_walker_sees_real_edges():
    edges = {(a, b) for a, b, _ in IMPORTS}
    assert ("benchbench.runner", "benchbench.metrics") in edges
    assert ("benchbench.power.monitor", "benchbench.warnings_") in edges
    assert ("benchbench.commands.run", "benchbench.suite") in edges
    assert not any(b.startswith("benchbench.workloads") for a, b in edges if a.startswith("benchbench.power"))
