"""The package's import graph: data flows one way (corpus -> ... -> answer -> engine -> edges), no circles."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

# Each module's stage; a module may import only from its own stage or a lower one.
STAGES = [
    ("rag._offline", "rag.errors", "rag.config", "rag.progress", "rag.english", "rag.text", "rag.files", "rag.cpu"),
    ("rag.corpus",),
    ("rag.chunking",),
    ("rag.embed",),
    ("rag.index",),
    ("rag.retrieve",),
    ("rag.generate",),
    ("rag.answer",),
    ("rag.rewrite",),
    ("rag.validate",),
    ("rag.engine",),
    ("rag.evaluate",),
    ("rag.serve",),
    ("rag.app",),
]


def _stage(module: str) -> int:
    for rank, prefixes in enumerate(STAGES):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} has no stage in tests/test_imports.py: add it")


def _modules() -> dict[str, Path]:
    root = ROOT / "rag"
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every rag module ``path`` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m == "rag" or m.startswith("rag.")}


def test_no_module_imports_from_a_higher_stage() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        if name == "rag":  # the package root re-exports the public API
            continue
        for target in _imports(name, path):
            target = max((m for m in modules if target == m or target.startswith(m + ".")), key=len, default=None)
            if target and target != "rag" and _stage(target) > _stage(name):
                wrong.append(f"{name} imports {target}")
    assert not wrong, wrong


def test_there_is_no_import_circle() -> None:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = {max((m for m in modules if t == m or t.startswith(m + ".")), key=len) for t in _imports(name, path)
                   if any(t == m or t.startswith(m + ".") for m in modules)}
        # importing a submodule runs its package's __init__ first, which is not a circle by itself
        graph[name] = {t for t in targets if t != name and not name.startswith(t + ".") and t != "rag"}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2
    for node in graph:
        if node not in state:
            visit(node, [node])


def test_only_the_edges_print() -> None:
    for name, path in _modules().items():
        if name.startswith("rag.app"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        consoles = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "Console"]
        assert not calls and not consoles, f"{name} prints or makes a Console; only rag.app may"
