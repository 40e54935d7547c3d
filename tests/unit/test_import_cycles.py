"""Import cycles between the modules of service/, ingest/ and analytics/: there are none.

Given every `import` statement in those packages (at module level and inside functions
alike: an import deferred into a function is still a dependency, only a hidden one),
when the modules are drawn as a graph with an edge from each module to each module it
imports, then no group of modules reaches itself again (no strongly connected component
of more than one module, and no module importing itself).

An edge goes to the most specific module named: `from service.ties import detail` is an
edge to service.ties.detail when that is a module, else to the package service.ties.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "ingest", "analytics")


def module_files() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _module_level(tree: ast.Module) -> list[ast.AST]:
    """The statements run on import: everything but the bodies of functions."""
    found: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        todo.extend(
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        )
    return found


def imports_of(name: str, path: Path, known: dict[str, Path], deferred: bool = True) -> set[str]:
    """The known modules `name` imports: anywhere in its body, or with `deferred=False`
    only in what runs on import."""
    here = name.split(".") if _is_package(path) else name.split(".")[:-1]
    targets: set[str] = set()

    def nearest(dotted: str) -> str | None:
        parts = dotted.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in known:
                return candidate
            parts.pop()
        return None

    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree) if deferred else _module_level(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (found := nearest(alias.name)) is not None:
                    targets.add(found)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import mod` runs pkg/__init__.py and reads a name from it: an edge
            # to pkg as well as to pkg.mod, even when pkg is the importer's own package.
            if (found := nearest(source)) is not None:
                targets.add(found)
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    targets.add(f"{source}.{alias.name}")
    # Importing a.b.c first runs a/__init__.py and a/b/__init__.py: edges to those
    # packages too, but for the importer's own (Python has them loaded before it).
    own = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")))}
    for target in list(targets):
        parts = target.split(".")
        for i in range(1, len(parts)):
            ancestor = ".".join(parts[:i])
            if ancestor in known and ancestor not in own:
                targets.add(ancestor)
    targets.discard(name)
    return targets


def graph(deferred: bool = True) -> dict[str, set[str]]:
    known = module_files()
    return {name: imports_of(name, path, known, deferred) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, and self-imports (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    found.append(sorted(component))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return found


def test_the_checker_finds_a_cycle_it_is_shown():
    # Given a graph with a two-module cycle and a self-import, when checked, then both are found.
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": set(), "d": {"d"}}
    assert sorted(cycles(edges)) == [["a", "b"], ["d"]]


def test_an_import_names_the_module_and_the_packages_it_runs(tmp_path):
    # Given a module of package p.q with `from . import r`, `from ..s.t import u` and a
    # function-level `import v`, when its imports are read, then the edges are p.q (whose
    # __init__ runs to give r), p.q.r, p.s.t and p.s (run first), but not p (its own);
    # and v only when function-level imports are counted.
    (tmp_path / "m.py").write_text("from . import r\nfrom ..s.t import u\ndef f():\n    import v\n")
    known = {n: tmp_path / "x.py" for n in ("p", "p.q", "p.q.r", "p.s", "p.s.t", "v")}
    assert imports_of("p.q.m", tmp_path / "m.py", known) == {"p.q", "p.q.r", "p.s.t", "p.s", "v"}
    assert imports_of("p.q.m", tmp_path / "m.py", known, deferred=False) == {"p.q", "p.q.r", "p.s.t", "p.s"}


# Cycles in rooms other engineers were untangling when this check came in (issue 14):
# this list may only shrink; empty it once they are gone.
ELSEWHERE: list[list[str]] = []


def _shown(found: list[list[str]]) -> str:
    return "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_import_cycles_in_service():
    # Given every import in service/, ingest/ and analytics/ (function-level ones too),
    # when drawn as a graph, then no cycle touches a module of service/.
    found = [c for c in cycles(graph()) if any(m.split(".")[0] == "service" for m in c)]
    assert found == [], _shown(found)


def test_no_new_import_cycles_between_modules():
    # Given the same graph, then every cycle left is one known before, and none grew.
    found = [c for c in cycles(graph()) if c not in ELSEWHERE]
    assert found == [], _shown(found)


if __name__ == "__main__":
    for deferred in (False, True):
        found = cycles(graph(deferred))
        print(f"{len(found)} cycles counting", "function-level imports too" if deferred else "module-level imports")
        for component in found:
            print("  " + " <-> ".join(component))
