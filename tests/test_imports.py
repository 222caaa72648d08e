"""Imports run one way (data -> models -> inference -> training -> CLI) and never in a circle.

The graph is read from the source (every `import`, including those inside functions), so an
import hidden in a function body to dodge a cycle still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "newsdesk"
# a module may import its own layer and the layers before it; modules outside these folders
# (errors, version, cli, evaluate, quickstart) sit at the bottom or the top as listed
LAYERS = ["version", "errors", "data", "models", "inference", "training", "top"]
BOTTOM = {"version", "errors"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The newsdesk modules that `path` imports (a name imported from a package that is a
    module of its own counts as that module; a package's `_EXPORTS`, the modules its names are
    imported from on first use, count too)."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
            found.update(v.value for v in node.value.values if isinstance(v, ast.Constant))
    return {m for m in found if m in modules}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(files)) for name, path in files.items()}


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:  # the package itself: it re-exports from every layer
        return len(LAYERS) - 1
    name = parts[1]
    return LAYERS.index(name) if name in LAYERS else len(LAYERS) - 1


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read_correctly():
    edges = graph()
    assert "newsdesk.models.folder" in edges["newsdesk.inference.predictor"]
    assert "newsdesk.errors" in edges["newsdesk.data.records"]
    assert "newsdesk.inference.analyzer" in edges["newsdesk.inference"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_run_one_way():
    backwards = [f"{m} -> {d}" for m, deps in sorted(graph().items()) for d in sorted(deps)
                 if m != "newsdesk" and d.split(".")[-1] not in BOTTOM and layer(d) > layer(m)]
    assert backwards == []


def test_no_import_cycles():
    edges = graph()
    # a package's __init__ re-exports its modules; the modules never import the package itself
    without_packages = {m: {d for d in deps if not (PACKAGE.parent / d.replace(".", "/")).is_dir()}
                        for m, deps in edges.items()}
    assert cycles(without_packages) == []
    importers_of_own_package = [m for m, deps in edges.items() for d in deps
                                if (PACKAGE.parent / d.replace(".", "/")).is_dir()
                                and m.startswith(d + ".")]
    assert importers_of_own_package == []


def test_the_command_line_answers_help_without_loading_model_libraries():
    """`newsdesk --help` and a wrong option answer in a tenth of a second, not after seconds
    of importing torch, transformers and datasets."""
    import subprocess
    import sys

    code = ("import sys; from newsdesk.cli import build_parser; build_parser(); "
            "from newsdesk.inference import options, hardware; from newsdesk.training import config; "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
