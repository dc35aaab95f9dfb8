"""The layers of docs/architecture.md hold, checked from the syntax tree of every module.

- ``workbench.store`` (store/) is the only package that imports duckdb or holds SQL text, and
  it imports nothing from the rest of ``workbench``; no raw connection leaves it.
- Services (everything in app/ but ``ui/``, ``cli/``, the facade ``sdk.py`` and the package's
  ``__init__``) import neither streamlit nor the notebook facade ``workbench.sdk``.
- Pages and ``workbench.ui`` call services: from the store they take only its vocabulary
  (errors, entities, the ``Workspace`` handle), never a query module or a transaction.
- ``workbench.training`` is the only wing that imports scikit-learn at module level; the
  others import it inside the function that needs it, so metadata reads stay light.
- Nothing imports the folders ``app`` or ``store`` by those names (they are ``workbench`` and
  ``workbench.store``; the names are users' own).
"""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PYTHON, ROOT, subprocess_env

FOLDERS = {"app": "workbench", "store": "workbench.store", "pages": "workbench.pages"}
# What pages and ui/ may take from the store: its vocabulary, not its queries.
STORE_VOCABULARY = re.compile(r"workbench\.store(\.(errors|entities|workspace))?$")
# SQL statement text: a verb and what follows it, as written in our store modules.
SQL = re.compile(
    r"\b(SELECT\s+(\*|DISTINCT|count|max|min|coalesce|[a-z_]+\s*,|[a-z_]+\s+FROM)|"
    r"INSERT\s+(OR\s+\w+\s+)?INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+TABLE|"
    r"ALTER\s+TABLE|CHECKPOINT\b)"
)
# Calls that only a raw database connection answers, and a transaction's own methods (a
# service passes the store a function of a Tx; it never calls one itself).
RAW_CALLS = {"execute", "executemany", "fetchall", "fetchone", "fetchdf", "sql"}
TX_CALLS = {"records", "record", "scalar", "df"}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. workbench.drift.stats
    path: Path
    tree: ast.Module

    @property
    def rel(self) -> str:
        return str(self.path.relative_to(ROOT))

    def in_(self, *packages: str) -> bool:
        return any(self.name == p or self.name.startswith(p + ".") for p in packages)


def modules() -> list[Module]:
    out = []
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out.append(Module(".".join([package, *parts]), path, ast.parse(path.read_text())))
    return out


def imports(tree: ast.AST, *, module_level: bool = False) -> list[tuple[str, int]]:
    """(dotted name, line) of every import, ``from x import y`` giving both x and x.y; with
    ``module_level``, only those run at import time (not inside a function body)."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if module_level and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, child.lineno))
                found.extend((f"{child.module}.{a.name}", child.lineno) for a in child.names)
            visit(child)

    visit(tree)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def is_service(m: Module) -> bool:
    return (
        m.in_("workbench")
        and not m.in_(
            "workbench.store", "workbench.pages", "workbench.ui", "workbench.cli", "workbench.sdk"
        )
        and m.name != "workbench"
    )


def sql_strings(tree: ast.AST) -> list[int]:
    """Lines of string constants (f-string parts included) that read as SQL statements;
    docstrings excepted."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and SQL.search(node.value)
    ]


ALL = modules()


def test_the_package_is_read_whole() -> None:
    names = {m.name for m in ALL}
    assert len(ALL) > 80
    assert {"workbench", "workbench.sdk", "workbench.store.gateway", "workbench.pages.home"} <= (
        names
    )


def test_nothing_imports_the_folders_by_their_own_names() -> None:
    """``app`` and ``store`` are the names of users' own folders: a module importing them by
    those names would load a second copy of ours, or theirs."""
    offenders = [
        f"{m.rel}:{line} imports {name}"
        for m in ALL
        for name, line in imports(m.tree)
        if top(name) in ("app", "store", "pages")
    ]
    assert offenders == []


def test_only_the_store_imports_duckdb() -> None:
    offenders = [
        f"{m.rel}:{line}"
        for m in ALL
        if not m.in_("workbench.store")
        for name, line in imports(m.tree)
        if top(name) == "duckdb"
    ]
    assert offenders == [], "go through workbench.store"


def test_only_the_store_holds_sql() -> None:
    offenders = [
        f"{m.rel}:{line}"
        for m in ALL
        if not m.in_("workbench.store")
        for line in sql_strings(m.tree)
    ]
    assert offenders == [], "SQL belongs in workbench.store"


def test_the_sql_check_sees_sql() -> None:
    """The detector finds what our store modules hold (else the test above proves nothing)."""
    store = [m for m in ALL if m.in_("workbench.store")]
    holding = {m.name for m in store if sql_strings(m.tree)}
    assert {
        "workbench.store.tracking",
        "workbench.store.monitors",
        "workbench.store.maintenance",
        "workbench.store.mlflow_source",
    } <= holding


def test_no_raw_connection_leaves_the_store() -> None:
    """Outside the store nothing calls what only a connection or a transaction answers
    (``execute``, ``fetchall`` ...): services hand the store a function of a ``Tx``."""
    offenders = []
    for m in ALL:
        if m.in_("workbench.store"):
            continue
        for node in ast.walk(m.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and (
                    node.func.attr in RAW_CALLS
                    or (
                        node.func.attr in TX_CALLS
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id in ("tx", "con", "conn", "cursor")
                    )
                )
            ):
                offenders.append(f"{m.rel}:{node.lineno} .{node.func.attr}(")
    assert offenders == []


def test_the_store_imports_nothing_above_it() -> None:
    offenders = [
        f"{m.rel}:{line} imports {name}"
        for m in ALL
        if m.in_("workbench.store")
        for name, line in imports(m.tree)
        if top(name) == "workbench" and not name.startswith("workbench.store")
    ]
    assert offenders == []


def test_services_import_neither_streamlit_nor_the_notebook_facade() -> None:
    services = [m for m in ALL if is_service(m)]
    assert len(services) > 40
    offenders = [
        f"{m.rel}:{line} imports {name}"
        for m in services
        for name, line in imports(m.tree)
        if top(name) == "streamlit"
        or name in ("workbench.sdk", "workbench.ui", "workbench.cli")
        or name.startswith(("workbench.sdk.", "workbench.ui.", "workbench.cli."))
        or (name == "workbench.sdk")
    ]
    assert offenders == []


def test_pages_and_ui_call_services_only() -> None:
    drawing = [m for m in ALL if m.in_("workbench.pages", "workbench.ui")]
    assert len(drawing) > 12
    offenders = []
    for m in drawing:
        for name, line in imports(m.tree):
            if not name.startswith("workbench.store"):
                continue
            module = name if name.count(".") <= 2 else ".".join(name.split(".")[:3])
            if not STORE_VOCABULARY.match(module):
                offenders.append(f"{m.rel}:{line} imports {name}")
        text = m.path.read_text()
        offenders += [f"{m.rel}: {t}" for t in (".store.read(", ".store.write(") if t in text]
    assert offenders == []


# The CLI and the SDK may also print standard JSON (the store's encoder of it).
DOOR_VOCABULARY = re.compile(r"workbench\.store(\.(errors|entities|workspace|jsontext))?$")


def test_the_sdk_and_the_cli_call_services_only() -> None:
    """The notebook facade and the command line take the store's vocabulary (errors,
    entities, the Workspace handle, its JSON encoder) and nothing else of it: no query
    module, no migrations, no snapshot helper (each is reached through a service)."""
    doors = [m for m in ALL if m.in_("workbench.sdk", "workbench.cli")]
    assert len(doors) >= 8
    offenders = []
    for m in doors:
        for name, line in imports(m.tree):
            if not name.startswith("workbench.store"):
                continue
            module = name if name.count(".") <= 2 else ".".join(name.split(".")[:3])
            if not DOOR_VOCABULARY.match(module):
                offenders.append(f"{m.rel}:{line} imports {name}")
        text = m.path.read_text()
        offenders += [f"{m.rel}: {t}" for t in (".store.read(", ".store.write(") if t in text]
    assert offenders == []


def test_only_the_training_wing_imports_scikit_learn_at_module_level() -> None:
    offenders = [
        f"{m.rel}:{line}"
        for m in ALL
        if not m.in_("workbench.training")
        for name, line in imports(m.tree, module_level=True)
        if top(name) == "sklearn"
    ]
    assert offenders == [], "import scikit-learn inside the function that needs it"


def test_the_checks_see_an_offence() -> None:
    """Each rule above rejects a module that breaks it (so none passes by reading nothing)."""
    bad = ast.parse(
        "import duckdb\nimport streamlit as st\nfrom workbench import sdk\n"
        "from sklearn.linear_model import Ridge\nfrom workbench.store import tracking\n"
        "def f(con):\n    con.execute('x')\n    return 'SELECT * FROM runs'\n"
    )
    names = {name for name, _ in imports(bad)}
    assert {"duckdb", "streamlit", "workbench.sdk", "workbench.store.tracking"} <= names
    assert {n for n, _ in imports(bad, module_level=True)} >= {"sklearn.linear_model"}
    assert sql_strings(bad) == [8]
    assert not STORE_VOCABULARY.match("workbench.store.tracking")
    assert STORE_VOCABULARY.match("workbench.store.errors")


def test_the_top_level_holds_only_the_project() -> None:
    """The design card's top level (plus .ci, bench, docs, the Makefile): a file a test or
    a session left behind at the root is caught before it is committed twice."""
    expected = {
        ".ci",
        ".gitignore",
        "Makefile",
        "README.md",
        "app",
        "bench",
        "docs",
        "pages",
        "pyproject.toml",
        "sample_data",
        "store",
        "tests",
    }
    if (ROOT / ".git").exists():
        tracked = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    else:  # an unpacked archive: what is there, less what the tools make
        made = (".venv", ".pytest_cache", ".ruff_cache", ".hypothesis", "workspace")
        tracked = [
            p.name
            for p in ROOT.iterdir()
            if not p.name.startswith(made) and not p.name.endswith(".egg-info")
        ]
    assert {path.split("/")[0] for path in tracked} - expected == set()


def test_metadata_reads_do_not_import_scikit_learn() -> None:
    """The CLI, the SDK and the reads the light pages make (Home's monitor badges among them)
    import no scikit-learn: about 1 s of CPU for every `workbench` command and every app
    server's first page. A fresh interpreter: the test process has them all."""
    script = (
        "import sys\n"
        "import workbench.cli.main, workbench.sdk, workbench.drift.monitoring\n"
        "import workbench.drift.report, workbench.registry.models, workbench.registry.promotion\n"
        "import workbench.tracking.experiments, workbench.datasets.versions\n"
        "from workbench.ui import data\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn')[:3])\n"
    )
    out = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(ROOT / "unused"),
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_the_store_builds_entities_by_column_name() -> None:
    """No entity is built from a row by position (``Run(*row)``): a column added to a table
    or reordered in a SELECT would shift every field after it. Rows come as dicts keyed by
    column name (``Tx.records``) and entities are built with ``**row``."""
    offenders = [
        f"{m.rel}:{node.lineno} {node.func.id}(*...)"
        for m in ALL
        if m.in_("workbench.store")
        for node in ast.walk(m.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id[:1].isupper()
        and any(isinstance(a, ast.Starred) for a in node.args)
    ]
    assert offenders == []
