"""The house is one-way: no import circles (lazy imports included) across every top-level folder with Python code
(``hydra_plugins/`` too), the library never imports the CLI, and no function runs past ~60 lines."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"tests", "outputs", "multirun", "build", "docs"}  # tests and outputs are not part of the house
PACKAGES = tuple(sorted(p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
                        and p.name not in SKIP and "egg-info" not in p.name and any(p.rglob("*.py"))))
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Every import statement anywhere in a module (top level, in functions, in ``if`` blocks) -> an edge."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, node, path.name == "__init__.py")
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                while target and target not in files:  # `from pkg import module` or `pkg.module.attr`
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_a_module_that_imports_it_back():
    graph = import_graph()
    assert {"socinf", "socinf_cli", "hydra_plugins", "bench"} <= set(PACKAGES)
    assert len(graph) > 50 and graph["socinf_cli.pipeline"]  # the walk really saw the packages and their imports
    assert "socinf.rundir" in graph["hydra_plugins.socinf_sweeper.sweeper"]  # namespace packages walked too
    assert cycles(graph) == []


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for pkg in ("socinf", "socinf_cli", "hydra_plugins"):
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.name} ({lines} lines)")
    assert long == []


def test_the_cycle_finder_finds_a_lazy_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_library_never_imports_the_command_layer():
    offenders = {m: sorted(t for t in targets if t.startswith("socinf_cli"))
                 for m, targets in import_graph().items() if m.startswith("socinf.")}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_import_socinf_is_light_and_documents_audit():
    code = ("import sys, socinf; assert 'torch' not in sys.modules and 'sklearn' not in sys.modules; "
            "help(socinf.audit)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "members" in proc.stdout and "population" in proc.stdout
