#!/usr/bin/env python3
"""Print the import graph between the diary's packages; exit 1 on a cycle.

    python scripts/import_graph.py [--dot]

A package is a folder of diary/ (diary/flags → "flags") or a top-level module
(diary/audit.py → "audit"; diary/__init__.py → "app"). Every import counts,
function-local ones too: a cycle hidden inside a function is still a cycle.
Prints one line per edge (importer → imported, with how many import
statements), then each cycle (strongly connected group of packages).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "diary"


def package_of(module: str) -> str | None:
    """diary.flags.engine → flags; diary.audit → audit; diary → app; others → None."""
    parts = module.split(".")
    if parts[0] != "diary":
        return None
    return parts[1] if len(parts) > 1 else "app"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[list[str]]:
    """Per import statement of a file, the absolute names of the modules it may import."""
    name = module_name(path)
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.append([alias.name for alias in node.names])
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - (node.level - 1)] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            # `from . import x` and `from .pkg import mod` may name submodules; any other
            # name is an attribute of the module itself
            found.append(
                [
                    f"{target}.{alias.name}" if _exists(f"{target}.{alias.name}") else target
                    for alias in node.names
                ]
            )
    return found


def graph() -> dict[str, dict[str, int]]:
    edges: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in sorted(PACKAGE.rglob("*.py")):
        source = package_of(module_name(path))
        for statement in imports(path):
            targets = {package_of(t) for t in statement if _exists(t)} - {None, source}
            for other in targets:
                edges[source][other] += 1
    return edges


def _exists(module: str) -> bool:
    path = ROOT / Path(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected groups of two or more packages (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    nodes = sorted(set(edges) | {t for targets in edges.values() for t in targets})

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return sorted(groups)


def main(argv: list[str]) -> int:
    edges = graph()
    if "--dot" in argv:
        print("digraph diary {")
        for source in sorted(edges):
            for target, n in sorted(edges[source].items()):
                print(f'  "{source}" -> "{target}" [label={n}];')
        print("}")
    else:
        for source in sorted(edges):
            for target, n in sorted(edges[source].items()):
                print(f"{source} -> {target} ({n})")
    found = cycles(edges)
    for group in found:
        print("cycle: " + " ↔ ".join(group), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
