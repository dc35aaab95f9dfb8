"""The layers of docs/architecture.md hold: only store/ imports duckdb (app/ and pages/
reach the database through it), and the services in app/ do not import Streamlit (only
app/ui/ and app/ui/entry/main.py draw pages)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from tests.conftest import PYTHON, ROOT, subprocess_env


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_store_imports_duckdb() -> None:
    files = [*(ROOT / "app").rglob("*.py"), *(ROOT / "pages").glob("*.py")]
    assert len(files) > 30
    offenders = [str(f.relative_to(ROOT)) for f in files if "duckdb" in imported(f)]
    assert offenders == [], (
        "go through store/ (workbench.training.task reads the version from metadata)"
    )


def test_services_do_not_import_streamlit() -> None:
    services = [f for f in (ROOT / "app").glob("*.py") if f.name != "main.py"]
    offenders = [str(f.relative_to(ROOT)) for f in services if "streamlit" in imported(f)]
    assert offenders == []


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


def test_pages_go_through_the_services() -> None:
    """Pages hold no transactions of their own: every read and write is an app/ service
    call, where the role checks and the audit live."""
    drawing = [*(ROOT / "pages").glob("*.py"), *(ROOT / "app" / "ui").glob("*.py")]
    offenders = [
        str(f.relative_to(ROOT))
        for f in drawing
        if any(t in f.read_text() for t in (".store.read(", ".store.write("))
    ]
    assert offenders == []


# SQL text in app/ outside store/: the workspace database is reached through store/ only.
SQL_ALLOWED = {
    "app/tracking/mlflow_import.py": "reads MLflow's own SQLite database (not the workspace's)",
    "app/team/backup.py": "predates this check: CHECKPOINT and blob references under "
    "Store.exclusive(); left for a move into store/",
}


def test_services_hold_no_sql() -> None:
    """No SQL statement text in app/ or pages/ (``monitoring`` ran its own SELECTs and
    INSERTs; they now live in store/monitors.py), except the files named above."""
    import re

    statement = re.compile(
        r"\b(SELECT\s+(\*|DISTINCT|count|max|[a-z_]+,)|INSERT\s+(OR\s+\w+\s+)?"
        r"INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b"
    )
    files = [*(ROOT / "app").rglob("*.py"), *(ROOT / "pages").glob("*.py")]
    offenders = [
        rel
        for f in files
        if (rel := str(f.relative_to(ROOT))) not in SQL_ALLOWED and statement.search(f.read_text())
    ]
    assert offenders == [], "SQL belongs in store/"


def test_metadata_reads_do_not_import_scikit_learn() -> None:
    """The CLI, the SDK and the reads the light pages make (Home's monitor badges among them)
    import no scikit-learn: about 1 s of CPU for every `workbench` command and every app
    server's first page. (``monitoring`` imported the retraining loop, and with it the
    estimators, to read a badge.) A fresh interpreter: the test process has them all."""
    script = (
        "import sys\n"
        "import workbench.cli.main, workbench.sdk, workbench.drift.monitoring\n"
        "import workbench.drift.report, workbench.registry.models\n"
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
