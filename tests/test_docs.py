"""The docs stay true: every link and image resolves, every screenshot they show is one a
browser test takes (none drawn by hand), every page of the app has its guide page, and the
README's Quickstart runs as pasted."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import PYTHON, ROOT, subprocess_env
from workbench.ui import nav
from workbench.workspaces import open_workspace

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def links(doc: Path) -> list[str]:
    return [t for t in LINK.findall(doc.read_text()) if not t.startswith(("http", "#", "mailto:"))]


def shots_the_tests_take() -> set[str]:
    names = set()
    for test in (ROOT / "tests").glob("test_*.py"):
        text = test.read_text()
        names |= set(re.findall(r'SHOTS / "([\w.-]+\.png)"', text))
        names |= {f"guide-{n}.png" for n in re.findall(r'shot\("([\w-]+)"\)', text)}
    return names


def test_every_relative_link_and_image_resolves() -> None:
    broken = [
        f"{doc.relative_to(ROOT)}: {target}"
        for doc in DOCS
        for target in links(doc)
        if not (doc.parent / target.split("#")[0]).exists()
    ]
    assert broken == []


def test_every_screenshot_shown_is_taken_by_a_browser_test() -> None:
    taken = shots_the_tests_take()
    shown = {Path(t).name for doc in DOCS for t in links(doc) if "screenshots/" in t}
    assert len(shown) >= 15
    assert shown - taken == set(), "take these in a browser test (tests/live.SHOTS)"


def test_every_page_has_a_guide_page() -> None:
    guide = ROOT / "docs" / "guide"
    index = (guide / "README.md").read_text()
    for spec in [*nav.PAGES, nav.ADMIN]:
        page = f"{spec.title.lower().replace(' ', '-')}.md"
        assert (guide / page).exists(), f"write docs/guide/{page}"
        assert f"]({page})" in index, f"link {page} from docs/guide/README.md"


def quickstart() -> str:
    """The python blocks of the README's Quickstart (up to its first ### subsection: those
    are reference snippets on the reader's own data), in order, as one script."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return "\n".join(re.findall(r"```python\n(.*?)```", section, flags=re.S))


def test_the_readme_quickstart_runs_as_pasted(tmp_path: Path) -> None:
    from workbench.tracking import experiments

    script = quickstart()
    assert "wb.start_run" in script
    for _ in range(2):  # pasted twice: the second paste works too
        done = subprocess.run(
            [PYTHON, "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=subprocess_env(tmp_path / "ws"),
            timeout=240,
        )
        assert done.returncode == 0, done.stderr
    ws = open_workspace(tmp_path / "ws")
    runs = experiments.search_runs(ws)
    assert [r.status for r in runs] == ["finished", "finished"]
    detail = experiments.get_run(ws, runs[0].run_id)
    assert [a.path for a in detail.artifacts] == ["confusion.csv"]
    assert detail.metrics["auc"].last_value == 0.99 and detail.metrics["auc"].n_points == 50
