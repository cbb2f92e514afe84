"""The packages call in one direction: scripts/import_graph.py finds every cycle."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "import_graph.py"
spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
import_graph = importlib.util.module_from_spec(spec)
spec.loader.exec_module(import_graph)


def test_the_packages_form_no_cycle():
    edges = import_graph.graph()
    assert import_graph.cycles(edges) == []
    # The clinical path runs one way: entries → flags → notify, never back.
    assert "flags" in edges["entries"] and "notify" in edges["flags"]
    assert "entries" not in edges["flags"] and "flags" not in edges["notify"]
    assert "entries" not in edges["notify"]


def test_the_script_names_a_cycle_and_exits_non_zero():
    edges = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert import_graph.cycles(edges) == [["a", "b", "c"]]
    assert import_graph.cycles({"a": {"b": 1}, "b": {}}) == []
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert "entries -> flags" in done.stdout
    assert done.returncode == 0, done.stderr


def test_function_local_imports_count():
    """A cycle hidden inside a function is still a cycle: cli's lazy imports are edges."""
    edges = import_graph.graph()
    assert "jobs" in edges["cli"]


# README "Layout": each line imports only from the lines below it.
LAYERS = [
    {"app"},
    {"cli", "jobs"},
    {"ops"},
    {"exports"},
    {"entries", "questionnaires"},
    {"participants"},
    {"adherence"},
    {"flags"},
    {"accounts"},
    {"notify"},
    {"signoff"},
    {"auth"},
    {
        "study",
        "mme",
        "audit",
        "access",
        "db",
        "clock",
        "errors",
        "schemas",
        "config",
        "pages",
        "security",
        "text",
        "bodies",
    },
]


def test_each_package_imports_only_from_the_layers_below_it():
    level = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    upward = []
    for source, targets in import_graph.graph().items():
        assert source in level, f"{source} is in no layer of README Layout"
        for target in targets:
            assert target in level, f"{target} is in no layer of README Layout"
            core = level[source] == len(LAYERS) - 1
            if level[target] < level[source] or (
                level[target] == level[source] and not core and (source, target) != ("cli", "jobs")
            ):
                upward.append(f"{source} -> {target}")
    assert upward == []
