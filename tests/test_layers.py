"""The layers of docs/architecture.md hold: only store/ imports duckdb (app/ and pages/
reach the database through it), and the services in app/ do not import Streamlit (only
app/ui/ and app/main.py draw pages)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT


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
    assert offenders == [], "go through store/ (app.training reads the version from metadata)"


def test_services_do_not_import_streamlit() -> None:
    services = [f for f in (ROOT / "app").glob("*.py") if f.name != "main.py"]
    offenders = [str(f.relative_to(ROOT)) for f in services if "streamlit" in imported(f)]
    assert offenders == []
