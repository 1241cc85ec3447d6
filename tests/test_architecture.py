"""The floors of the house (docs/architecture.md): apps -> flows -> tasks -> chitieu. An import may go down a floor
or stay on its own, never up; a task never imports another task (shared code goes down into chitieu/)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

FLOORS = {"chitieu": 0, "tasks": 1, "flows": 2, "apps": 3}


def imports_of(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in a file, at any depth (in functions, under TYPE_CHECKING);
    `from pkg import mod` counts as `pkg.mod`, relative imports are resolved against `package`."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out += [(node.lineno, f"{base}.{alias.name}" if base in FLOORS else base) for alias in node.names]
    return out


def violations(root: Path) -> list[str]:
    """Every import under `root` that runs up a floor, or from one task module into another."""
    found = []
    for floor_name, floor in FLOORS.items():
        for path in sorted((root / floor_name).rglob("*.py")):
            rel = path.relative_to(root)
            own = ".".join(rel.with_suffix("").parts)
            package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
            for line, module in imports_of(path, package):
                top = module.split(".")[0]
                if top not in FLOORS:
                    continue
                if FLOORS[top] > floor:
                    found.append(f"{rel}:{line} imports {module}: {floor_name}/ may not import {top}/ (a floor up)")
                elif floor_name == top == "tasks" and module.split(".")[:2] != own.split(".")[:2] \
                        and module != "tasks":
                    found.append(f"{rel}:{line} imports {module}: a task imports chitieu/, never another task")
    return found


def arrows(root: Path) -> dict[tuple[str, str], int]:
    """(from folder, to folder) -> number of import statements, for the docs' picture of the house."""
    out: dict[tuple[str, str], int] = {}
    for floor_name in FLOORS:
        for path in (root / floor_name).rglob("*.py"):
            own = ".".join(path.relative_to(root).with_suffix("").parts)
            for _, module in imports_of(path, own.rsplit(".", 1)[0]):
                top = module.split(".")[0]
                if top in FLOORS and top != floor_name:
                    out[(floor_name, top)] = out.get((floor_name, top), 0) + 1
    return out


def test_no_import_runs_up_a_floor_and_no_task_imports_another():
    assert violations(REPO) == []


def test_the_walk_finds_each_kind_of_violation(tmp_path):
    """The check itself can fail: a synthetic house with one violation of each kind (those found on main before
    the records and the command line moved)."""
    files = {
        "chitieu/__init__.py": "",
        "chitieu/cli.py": "def run():\n    from flows.ingest import ingest\n",
        "chitieu/ok.py": "from chitieu.errors import ChitieuError\n",
        "tasks/__init__.py": "",
        "tasks/load.py": "from tasks.parse import ParsedFeed\nfrom chitieu.records import ACCEPTED\n",
        "tasks/validate.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import parse\n",
        "tasks/parse.py": "import tasks.parse as me\nimport pandas\n",
        "tasks/publish.py": "import flows.ingest\n",
        "flows/__init__.py": "",
        "flows/rerun.py": "from flows.ingest import ACCEPTED\nfrom tasks.load import load_submissions\n",
        "flows/ingest.py": "from apps import cli\n",
        "apps/__init__.py": "",
        "apps/cli.py": "from flows.ingest import ingest\nfrom chitieu.errors import ChitieuError\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = violations(tmp_path)
    assert [v.split(":")[0] + ":" + v.split(":")[1].split()[0] for v in found] == [
        "chitieu/cli.py:2", "tasks/load.py:1", "tasks/publish.py:1", "tasks/validate.py:3", "flows/ingest.py:1"]
    assert arrows(tmp_path) == {("chitieu", "flows"): 1, ("tasks", "chitieu"): 1, ("tasks", "flows"): 1,
                                ("flows", "tasks"): 1, ("flows", "apps"): 1, ("apps", "flows"): 1,
                                ("apps", "chitieu"): 1}


def test_a_pass_over_an_empty_inbox_imports_no_dataframe_library():
    """The command's fixed cost: the ingest flow and the CLI import pandas, pyarrow and Great Expectations only where
    there is something to parse, validate, load or render (a module that imported them at its top once added ~1 s
    to every `chitieu run`)."""
    import subprocess
    import sys

    heavy = ("pandas", "pyarrow", "great_expectations")
    probe = ("import sys, apps.cli, flows.ingest; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
