"""How big the production code is: the modules at the top of ``hub/``, the longest
production modules and the longest functions (standard library only).

    python tools/codesize.py                 # hub, adapters, devices (what the wheel ships)
    python tools/codesize.py --top 20 hub/quality
    python tools/codesize.py --max-module 400 --max-function 60 --check   # exit 1 over the limits

Production code is what the wheel ships (``hub``, ``adapters``, ``devices``, ``govhub_verify``), without
the Alembic revisions (``hub/migrations/versions``) and generated schemas. A module's size
is its line count; a function's is the lines from ``def`` to its last line
(``end_lineno - lineno + 1``, decorators not counted; a method is named ``Class.method``,
a nested function ``outer.<locals>.inner``).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("hub", "adapters", "devices", "govhub_verify")
EXCLUDED = ("hub/migrations/versions/", "schemas/")


def modules(roots: list[Path]) -> list[Path]:
    found = []
    for root in roots:
        for path in sorted([root] if root.is_file() else root.rglob("*.py")):
            rel = path.resolve().relative_to(ROOT).as_posix()
            if path.suffix == ".py" and not any(x in rel for x in EXCLUDED) and "__pycache__" not in rel:
                found.append(path)
    return found


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def functions(path: Path) -> list[tuple[int, str, int]]:
    """(lines, qualified name, first line) of every function in the module."""
    out = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                out.append((child.end_lineno - child.lineno + 1, name, child.lineno))
                walk(child, name + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), "")
    return out


def top_level(hub: Path) -> tuple[list[str], list[str]]:
    mods = sorted(p.name for p in hub.glob("*.py") if p.name != "__init__.py")
    pkgs = sorted(p.name for p in hub.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    return mods, pkgs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("paths", nargs="*", help="folders or files (default: hub adapters devices)")
    ap.add_argument("--top", type=int, default=10, help="how many modules and functions to list (default 10)")
    ap.add_argument("--max-module", type=int, default=400, help="module limit in lines (default 400)")
    ap.add_argument("--max-function", type=int, default=60, help="function limit in lines (default 60)")
    ap.add_argument("--check", action="store_true", help="exit 1 if a module is over --max-module")
    args = ap.parse_args(argv)
    roots = [Path(p).resolve() for p in args.paths] if args.paths else [ROOT / p for p in PRODUCTION]

    mods, pkgs = top_level(ROOT / "hub")
    print(
        f"hub/ top level: {len(mods)} module(s) ({', '.join(mods) or '-'}), {len(pkgs)} package(s) ({', '.join(pkgs)})"
    )

    files = modules(roots)
    sizes = sorted(((line_count(p), p.relative_to(ROOT).as_posix()) for p in files), reverse=True)
    over = [s for s in sizes if s[0] > args.max_module]
    print(
        f"\n{len(files)} production module(s), {sum(n for n, _ in sizes)} lines; "
        f"{len(over)} over {args.max_module} lines. Longest:"
    )
    for n, rel in sizes[: args.top]:
        print(f"  {n:5d}  {rel}")

    funcs = sorted(
        ((n, f"{p.relative_to(ROOT).as_posix()}:{line} {name}") for p in files for n, name, line in functions(p)),
        reverse=True,
    )
    long = [f for f in funcs if f[0] > args.max_function]
    print(f"\n{len(funcs)} function(s); {len(long)} over {args.max_function} lines. Longest:")
    for n, where in funcs[: args.top]:
        print(f"  {n:5d}  {where}")
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
