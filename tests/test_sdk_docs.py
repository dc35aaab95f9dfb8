"""docs/sdk.md stays true: its examples run, in order, in a fresh workspace, and it names
every public function of workbench.sdk (and every public method of a run)."""

from __future__ import annotations

import inspect
import re
import subprocess

from tests.conftest import PYTHON, ROOT, subprocess_env
from workbench import sdk
from workbench.tracking import fluent

DOC = ROOT / "docs" / "sdk.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_every_public_name_is_exported_and_documented() -> None:
    defined = {
        n
        for n, obj in vars(sdk).items()
        if not n.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ in (sdk.__name__, fluent.__name__)  # the run logger, re-exported
    }
    assert defined == set(sdk.__all__), "add new SDK functions to workbench.sdk.__all__"
    text = DOC.read_text()
    missing = [n for n in sdk.__all__ if n != "ActiveRun" and f"wb.{n}" not in text]
    methods = [
        m for m, _ in inspect.getmembers(sdk.ActiveRun, inspect.isfunction) if not m.startswith("_")
    ]
    missing += [m for m in methods if f"run.{m}" not in text]
    assert missing == [], f"document these in docs/sdk.md: {missing}"


def test_the_examples_run(tmp_path) -> None:
    script = "\n".join(examples())
    assert len(examples()) >= 8
    done = subprocess.run(
        [PYTHON, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=subprocess_env(tmp_path / "unused"),
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "finished" in out and "customers@v1 customers@v2" in out
    assert "params are immutable" in out and "is not a number" in out  # the refusals
    assert "churn-classifier has no alias 'nobody'" in out
