"""The import graph of the project's own modules: cycles, and imports made inside functions.

    python tools/import_graph.py                 # cycles among hub, adapters, devices, govhub_verify, bench
    python tools/import_graph.py --local         # also list every import made inside a function
    python tools/import_graph.py hub/cli demo    # other roots (a directory or a package name)
    python tools/import_graph.py --exclude hub.cli

Every ``import`` statement counts, wherever it is: at module top, inside a function, under
``if TYPE_CHECKING`` is skipped (it never runs). An edge goes to the most specific project
module named (``from hub.db import tables`` → ``hub.db.tables``). A cycle is a strongly
connected component of two modules or more; one shortest cycle through it is printed.
Exits 1 when a cycle remains, so it can run in CI.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOTS = ("hub", "adapters", "devices", "govhub_verify", "bench")
PROJECT_PACKAGES = (
    "hub",
    "adapters",
    "devices",
    "govhub_verify",
    "bench",
    "demo",
    "synth",
    "sandbox",
    "dags",
    "tests",
    "tools",
)


def module_files(root: str) -> dict[str, Path]:
    base = ROOT / root.replace(".", "/")
    files = [base.with_suffix(".py")] if base.with_suffix(".py").is_file() else sorted(base.rglob("*.py"))
    mods = {}
    for f in files:
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if "migrations" in parts and "versions" in parts:
            continue  # Alembic revision files are loaded by path, not imported
        mods[".".join(parts)] = f
    return mods


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports(module: str, path: Path, known: set[str]) -> list[tuple[str, str | None, int, bool]]:
    """(name imported, the project module it is or None, line, inside a function) for every
    import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, str | None, int, bool]] = []

    def resolve(name: str) -> str | None:
        while name:
            if name in known:
                return name
            name = name.rpartition(".")[0]
        return None

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for sub in child.orelse:
                    visit(sub, local)
                continue
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for a in child.names:
                    target = resolve(a.name)
                    found.append((a.name, target if target != module else None, child.lineno, local))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                    pkg = pkg[: len(pkg) - child.level + 1]
                    base = ".".join(pkg + ([child.module] if child.module else []))
                else:
                    base = child.module or ""
                for a in child.names:
                    target = resolve(f"{base}.{a.name}") if a.name != "*" else resolve(base)
                    found.append((f"{base}.{a.name}", target if target != module else None, child.lineno, local))
            visit(child, inner)

    visit(tree, False)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def shortest_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    members = set(comp)
    best: list[str] | None = None
    for start in comp:
        prev = {start: None}
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    cycle = [*reversed(path), start]
                    if best is None or len(cycle) < len(best):
                        best = cycle
                    queue.clear()
                    break
                if w not in prev:
                    prev[w] = v
                    queue.append(w)
    return best or comp


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="*", default=list(DEFAULT_ROOTS))
    ap.add_argument("--exclude", action="append", default=[], help="a package whose modules are left out (repeatable)")
    ap.add_argument("--local", action="store_true", help="list every import made inside a function")
    args = ap.parse_args(argv)

    known: dict[str, Path] = {}
    for pkg in PROJECT_PACKAGES:
        if (ROOT / pkg).is_dir():
            known.update(module_files(pkg))
    selected: dict[str, Path] = {}
    for root in args.roots:
        selected.update(module_files(root.strip("/").replace("/", ".")))

    def excluded(m: str) -> bool:
        return any(m == x or m.startswith(x + ".") for x in args.exclude)

    selected = {m: p for m, p in selected.items() if not excluded(m)}
    graph: dict[str, set[str]] = {m: set() for m in selected}
    local: list[tuple[str, int, str]] = []
    for m, path in sorted(selected.items()):
        for name, target, line, inside in imports(m, path, set(known)):
            if target in selected:
                graph[m].add(target)
            if inside:
                local.append((str(path.relative_to(ROOT)), line, name))

    cycles = strongly_connected(graph)
    if args.local:
        for path, line, target in local:
            print(f"{path}:{line}: {target}")
        print(f"{len(local)} names imported inside functions")
    for comp in cycles:
        print(f"cycle ({len(comp)} modules): " + " -> ".join(shortest_cycle(graph, comp)))
        if len(comp) > 2:
            print("  component: " + ", ".join(comp))
    print(f"{len(cycles)} import cycles among {len(selected)} modules")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
