"""User text is shown as written, never as markup (a newcomer's find, issue #15): a run
named `:red[evil] **bold** $x$ <b>b</b>` was drawn red, bold and as LaTeX in the run's
header, a refused model name likewise in the error, a dataset message and a column named
`**b**` in the contract and drift summaries, `<b>` in a chart legend or category as bold.
Through AppTest on a real workspace: each place gets escaped text (CommonMark's
backslash escapes, html escapes in plotly), which the browser shows as typed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import make_run, select_row
from tests.test_pages import MAIN
from workbench import sdk as wb
from workbench.drift import report as reports
from workbench.store.workspace import Workspace
from workbench.ui.widgets import markdown_table, markdown_text, short_cell, utc_cell

HOSTILE = ":red[evil] **bold** $x$ <b>b</b>"


@pytest.fixture
def app_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    return ws


def page(name: str, **state) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"../../../pages/{name}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_markdown_text_escapes_every_markup_character() -> None:
    assert markdown_text(HOSTILE) == r"\:red\[evil\] \*\*bold\*\* \$x\$ \<b\>b\</b\>"
    assert markdown_text("a\nb") == "a b"


def test_table_cells_do_not_break_a_markdown_table_out_of_the_page() -> None:
    """Home's activity as a markdown table: a JSON detail with a 32-digit id pushed the
    table past the page's right edge, and a narrow column broke a timestamp into three
    lines."""
    from datetime import datetime

    cell = utc_cell(datetime(2026, 11, 30, 21, 23, 34))
    assert cell == "2026\u201111\u201130 21:23:34"  # breaks between date and time only
    assert "-" not in cell
    detail = json.dumps({"dataset": "churn@v4", "report": "1237d32f6f274237812005bd" * 2})
    short = short_cell(detail)
    assert short == '{"dataset": "churn@v4", "report": "1237d32f6f2742…'
    assert max(len(w) for w in short.split()) <= 16
    assert len(short_cell("word " * 40)) == 60 and short_cell("word " * 40).endswith("…")
    assert short_cell("a\nb  c") == "a b c"  # one line, one space
    assert short_cell("") == ""
    row = markdown_table(["when", "detail"], [(cell, short)]).splitlines()[2]
    assert row.count(" | ") == 1  # still two cells


def test_a_run_and_its_experiment_are_named_as_written(app_env: Workspace) -> None:
    run_id = make_run(experiment="e :blue[x] *it*", name=HOSTILE, metrics={"loss": [1.0, 0.5]})
    other = make_run(experiment="e :blue[x] *it*", name=HOSTILE, metrics={"loss": [2.0, 1.0]})
    at = page("experiments", selected_runs=[run_id])
    assert at.subheader[0].value.endswith(markdown_text(HOSTILE))
    assert any(markdown_text("e :blue[x] *it*") in c.value for c in at.caption)
    at = page("experiments", selected_runs=[run_id, other])  # compared: the legend
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    names = {t.get("name") for spec in charts for t in spec["data"]}
    assert f"{HOSTILE} · {run_id[:8]}".replace("<", "&lt;").replace(">", "&gt;") in names


def test_an_error_quoting_what_was_typed_shows_it_as_typed(app_env: Workspace) -> None:
    run_id = make_run(experiment="e", name="r")
    at = page("experiments", selected_runs=[run_id])
    at.text_input(key="bulk-tag-value").input("v")
    at.text_input(key="bulk-tag-key").input(":red[k]")  # a refused key, quoted back
    at.button(key="bulk-tag").click().run()
    assert at.error and "\\:red\\[k\\]" in at.error[0].value


def test_dataset_messages_and_column_names_are_shown_as_written(app_env: Workspace) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"**b**": rng.normal(0, 1, 500), "a": rng.normal(0, 1, 500)})
    wb.log_dataset(frame, "d", message=HOSTILE)
    shifted = frame.assign(**{"**b**": frame["**b**"] + 3})
    wb.log_dataset(shifted, "d", message="shifted")
    report = reports.run_report(app_env, "d@v1", "d@v2")
    at = page("datasets", dataset="d")
    quotes = [m.value for m in at.markdown if m.value.startswith(">")]
    assert quotes == ["> shifted"], quotes  # v2 is shown first
    select_row(at, "versions-d-2", 1)  # v1 and its message
    at.run()
    assert [m.value for m in at.markdown if m.value.startswith(">")] == [
        f"> {markdown_text(HOSTILE)}"
    ]
    at = page("drift")
    top = next(m.value for m in at.markdown if m.value.startswith("**Top drifting**"))
    assert "`**b**`" in top
    bullets = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert bullets and bullets[0].startswith("- " + markdown_text("**b**")), bullets
    assert report.n_drifted >= 1


def test_a_quick_run_reads_in_milliseconds() -> None:
    """A second pass: a 0.025 s run read "0.0 s" in the runs table."""
    from workbench.ui.widgets import duration

    assert [duration(s) for s in (0.025, 0.0004, 0.9994, 0.9996, 12.34, 270, 7200)] == [
        "25 ms",
        "0 ms",
        "999 ms",
        "1.0 s",
        "12.3 s",
        "4.5 min",
        "2.0 h",
    ]
    assert duration(None) == "" and duration(float("nan")) == ""
