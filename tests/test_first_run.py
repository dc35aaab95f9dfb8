"""The README's first command on a fresh clone: `make run` creates the virtual environment,
installs, seeds the demo once and serves it; the Start here page draws in chromium.

It clones the repository's committed HEAD (a CI run is a clean clone, so that is the code
under test; outside a git checkout it copies the tree) and installs from the package
index, so it takes a minute or two.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.live import make_run, start_here_is_drawn


def fresh_copy(target: Path) -> Path:
    """A clone of HEAD; outside a git checkout (an unpacked archive), a copy of the tree
    without what a first run creates."""
    if (ROOT / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    else:
        shutil.copytree(
            ROOT,
            target,
            ignore=shutil.ignore_patterns(
                ".venv*",
                "workspace",
                "__pycache__",
                "*.egg-info",
                ".pytest_cache",
                ".ruff_cache",
                "output",
            ),
        )
    return target


@pytest.mark.browser
@pytest.mark.timeout(1200)
def test_make_run_on_a_fresh_clone_seeds_and_serves_the_demo(tmp_path: Path) -> None:
    clone = fresh_copy(tmp_path / "clone")

    with make_run(clone, tmp_path / "first.log") as (url, healthy):
        drawn = start_here_is_drawn(url)
    first = (tmp_path / "first.log").read_text()
    assert "demo seeded in" in first and (clone / "workspace" / ".demo-workspace").exists()
    assert url in first  # the URL is printed
    print(f"fresh clone: healthy after {healthy:.0f} s, Start here drawn {drawn:.1f} s later")

    # The second start keeps the workspace: nothing is seeded again, nothing installed.
    with make_run(clone, tmp_path / "second.log", timeout=120) as (url, healthy):
        start_here_is_drawn(url)
    second = (tmp_path / "second.log").read_text()
    assert "demo seeded" not in second and "pip install" not in second
    print(f"second start: healthy after {healthy:.1f} s")
