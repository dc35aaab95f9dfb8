"""The model card from jinja2 templates: the markdown card says what it said before, and
its HTML form (export, download) escapes whatever users wrote."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from sklearn.dummy import DummyClassifier

from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.registry import models as registry
from workbench.store.errors import NotFound
from workbench.store.workspace import Workspace
from workbench.training import runner
from workbench.training.task import RunSpec

HOSTILE = (
    "## Intended use\n\nScores churn. <script>window.__pwned = 1</script> "
    '<img src=x onerror="window.__pwned = 2"> & friends'
)

# The card the f-strings of registry._card made for this run (before the templates).
EXPECTED_CARD = """### churn-clf

Trained by run **rf <b>1</b>** (`abc123`) in experiment *exp* on dataset version `churn@v2`.

#### Intended use

_Describe what the model is for and what it must not be used for._

#### Inputs

`age` (integer), `plan` (type not recorded)

#### Output

classification, classes [False, True]

#### Metrics

| metric | value |
| --- | ---: |
| accuracy | 0.8123 |
| rmse | 1.235e+07 |

#### Params

| param | value |
| --- | --- |
| n_estimators | 200 |
| max_depth | None |
"""


def _detail(params: dict) -> SimpleNamespace:
    run = SimpleNamespace(name="rf <b>1</b>", run_id="abc123")
    return SimpleNamespace(run=run, experiment_name="exp", params=params)


SIG = {
    "inputs": [{"name": "age", "family": "integer"}, {"name": "plan", "family": "unknown"}],
    "output": {"kind": "classification", "classes": [False, True]},
}


def test_the_markdown_card_is_what_it_was() -> None:
    context = registry.card_context(
        "churn-clf",
        _detail({"n_estimators": "200", "max_depth": "None"}),
        "churn@v2",
        SIG,
        {"rmse": 12345678.9, "accuracy": 0.81234567},
    )
    assert registry.render_card(context) == EXPECTED_CARD


def test_an_empty_table_and_no_dataset_keep_the_old_layout() -> None:
    sig = {"inputs": [{"name": "x", "family": "float"}], "output": {"kind": "regression"}}
    card = registry.render_card(registry.card_context("m", _detail({}), None, sig, {}))
    assert "on dataset version `not recorded`." in card
    assert "#### Output\n\nregression\n\n#### Metrics" in card  # no classes clause
    assert card.endswith(
        "| metric | value |\n| --- | ---: |\n\n\n#### Params\n\n"
        "| param | value |\n| --- | --- |\n\n"
    )


def test_params_beyond_forty_are_left_out() -> None:
    params = {f"p{i}": str(i) for i in range(50)}
    card = registry.render_card(registry.card_context("m", _detail(params), None, SIG, {}))
    assert "| p39 | 39 |\n" in card and "p40" not in card


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.pre: list[str] = []
        self._in_pre = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        self._in_pre = tag == "pre"

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        if self._in_pre:
            self.pre.append(data)


@pytest.fixture
def carded(ws: Workspace) -> Workspace:
    wb.log_dataset(binary_frame(80), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    version = registry.register_model(ws, launch.run_ids[0], "clf")
    registry.update_card(ws, version.ref, HOSTILE)
    return ws


def test_the_html_card_escapes_what_users_wrote(carded: Workspace) -> None:
    page = registry.card_html(carded, "clf/1")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert "onerror" not in parsed.attrs
    # the card's content, exactly as written, once unescaped
    assert "".join(parsed.pre) == HOSTILE
    version = registry.get_version(carded, "clf/1")
    assert f"<h1>{version.ref}</h1>" in page and version.sha256 in page
    for metric in version.metrics:
        if not metric.startswith(("fold_", "staged_")):
            assert f"<td>{html.escape(metric)}</td>" in page
    for column in version.signature["inputs"]:
        assert f"<code>{html.escape(column['name'])}</code>" in page


def test_the_export_carries_both_forms(carded: Workspace, tmp_path: Path) -> None:
    out = registry.export_version(carded, "clf/1", tmp_path / "export")
    assert (out / "MODEL_CARD.md").read_text(encoding="utf-8") == HOSTILE
    page = (out / "MODEL_CARD.html").read_text(encoding="utf-8")
    assert page == registry.card_html(carded, "clf/1")
    assert not re.search(r"<script", page, re.IGNORECASE)


def test_the_html_card_of_an_unknown_version(carded: Workspace) -> None:
    with pytest.raises(NotFound):
        registry.card_html(carded, "clf/9")


def test_logged_values_cannot_restructure_the_markdown_card(ws: Workspace) -> None:
    """A param value with a bar and line breaks added rows to the card's table, and a
    markdown image in it would be fetched by whoever opened the card: each value stays one
    cell of plain text."""
    with wb.start_run(experiment="card", name="run [x](http://127.0.0.1:9/y)") as run:
        run.log_params(
            {
                "evil": "a | b\n| injected | row |\n<img src=x onerror=alert(2)>",
                "note": "![px](http://127.0.0.1:9/track.png)",
                "max_depth": 8,
            }
        )
        run.log_metric("auc", 0.9)
        wb.log_model(DummyClassifier().fit([[0], [1]], [0, 1]))
    card = registry.register_model(ws, run.run_id, "carded").card
    params = card.split("#### Params", 1)[1].strip().splitlines()
    assert len(params) == 2 + 3  # header, rule, one row per param
    assert all(line.count("|") - line.count("\\|") == 3 for line in params)
    assert not re.search(r"(?<!\\)!\[", card)  # no image for a reader's browser to fetch
    assert not re.search(r"(?<!\\)\[x\]\(", card)  # the run name's link is text
    assert "| max_depth | 8 |" in card  # ordinary names are unchanged
