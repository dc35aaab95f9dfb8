"""The drift configuration (validated, stored with each report, rendered as the rule), the
one parser of per-column rules, the typed report's JSON round trip through the store, and
the registry of per-column methods."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, plain
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.drift import methods
from workbench.drift import report as reports
from workbench.drift import stats as drift
from workbench.drift.config import DriftConfig, Override, parse_rules
from workbench.drift.results import ColumnDrift, DriftReport
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.ui import nav


@pytest.fixture
def two_versions(ws: Workspace) -> Workspace:
    """customers@v1 and @v2: income shifted by 0.15 sd (W1/sd about 0.15: drift by
    today's 0.1, not at 0.2), the plan mix moved by 20 points, age unchanged."""
    rng = np.random.default_rng(11)
    n = 20_000
    for shift in (0.0, 1.0):
        wb.log_dataset(
            pd.DataFrame(
                {
                    "income": rng.normal(40_000 + 1_500 * shift, 10_000, n),
                    "plan": rng.choice(
                        ["basic", "pro"], n, p=[0.5 - 0.2 * shift, 0.5 + 0.2 * shift]
                    ),
                    "age": rng.integers(18, 90, n),
                }
            ),
            "customers",
        )
    return ws


# -- the configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"q_fdr": 1.5},
            "The 'q_fdr' parameter of DriftConfig must be a float in the range (0, 1)",
        ),
        ({"q_fdr": math.nan}, "'q_fdr' parameter of DriftConfig must be a float"),
        ({"numeric_material": -0.1}, "got -0.1. Give a value in that range"),
        ({"share_material": "high"}, "got 'high'"),
        ({"dataset_share": True}, "'dataset_share' parameter"),
        ({"fold_min_rows": 2.5}, "'fold_min_rows' parameter of DriftConfig must be an int"),
        ({"n_boot": 10}, "must be an int in the range [100, 1e+06]; got 10"),
        ({"major_factor": 0.5}, "today's default (2.5)"),
        ({"numeric_major": 0.05}, "'numeric_major' parameter of DriftConfig must be at least"),
        ({"overrides": {"x": Override("nope", 0.1)}}, "'nope' is not a drift method; use one of"),
        ({"overrides": {"x": Override("psi", 0)}}, "the threshold must be a number above 0"),
        ({"overrides": {"x": "psi"}}, "give a workbench.drift.Override(method, threshold)"),
    ],
)
def test_invalid_configurations_say_what_is_wrong(given: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        DriftConfig(**given)
    assert message in str(caught.value)


def test_the_configuration_is_frozen_and_round_trips_as_json() -> None:
    config = DriftConfig(
        q_fdr=0.005, numeric_material=0.15, overrides={"plan": Override("psi", 0.3)}
    )
    with pytest.raises(AttributeError):
        config.q_fdr = 0.5  # type: ignore[misc]
    text = json.dumps(config.to_json(), allow_nan=False)
    assert DriftConfig.from_json(json.loads(text)) == config
    assert config.per_column == {"plan": Override("psi", 0.3)}
    assert DriftConfig.from_json({}) == DriftConfig()  # missing keys: today's defaults
    with pytest.raises(InvalidInput, match="Unknown drift configuration key"):
        DriftConfig.from_json({"q_fdr": 0.01, "qfdr": 0.02})


def test_todays_rule_is_the_default_configurations() -> None:
    assert DriftConfig().rule() == drift.RULE
    rule = DriftConfig(q_fdr=0.005, numeric_material=0.15).rule()
    assert "q = 0.005" in rule and "KS D is at least 0.15" in rule
    assert "q = 0.005" not in drift.RULE
    ruled = DriftConfig(overrides={"plan": Override("psi", 0.3)}).rule()
    assert ruled.startswith(drift.RULE)
    assert "Per-column rules: plan: psi >= 0.3 (major at 0.75)" in ruled


def test_a_threshold_in_the_configuration_changes_the_verdict(two_versions: Workspace) -> None:
    """The configuration is applied, not only shown: income's 0.15 sd shift is drift at
    today's 0.1 and no drift at 0.2."""
    today = reports.run_report(two_versions, "customers@v1", "customers@v2")
    strict = reports.run_report(
        two_versions, "customers@v1", "customers@v2", config=DriftConfig(numeric_material=0.2)
    )
    income = {r.column: r for r in today.results}["income"]
    assert income.drifted and 0.1 < income.stats["wasserstein_std"] < 0.2, income.sentence
    assert {r.column: r for r in strict.results}["income"].verdict == "no drift"


# -- one parser of per-column rules -------------------------------------------------------


def test_rule_text_is_parsed_once() -> None:
    assert parse_rules(["income=psi:0.2", " ", "customer_id = ignore", "plan=share"]) == {
        "income": Override("psi", 0.2),
        "customer_id": Override("ignore", 0.1),
        "plan": Override("share", 0.1),  # the method's default threshold
    }
    for text, message in [
        ("usage", "write COLUMN=METHOD[:THRESHOLD]"),
        ("usage=psi:high", "the threshold 'high' is not a number"),
        ("usage=psi:0", "the threshold must be a number above 0; got 0.0"),
        ("usage=nope", "'nope' is not a drift method; use one of wasserstein, share, psi, ks"),
        # thresholds past what the statistic can reach switched the column off in silence
        ("plan=js:1.5", "js is a distance from 0 to 1, so a threshold of 1.5 can never be"),
        ("plan=share:5", "give one of at most 1, e.g. share:0.1"),
        ("usage=ks:2", "ks is the largest CDF gap, from 0 to 1"),
        ("usage=ignore:0.3", "ignore takes no threshold (the column is left out"),
        ("usage=ks:1.01", "give one of at most 1"),
    ]:
        with pytest.raises(InvalidInput, match=text.replace("=", ".")) as caught:
            parse_rules([text])
        assert message in str(caught.value)
    with pytest.raises(InvalidInput, match="has a rule already"):
        parse_rules(["x=psi", "x=ks"])
    # a statistic can reach its top: ks:1 is a rule (two disjoint samples meet it); a
    # major level past the top is said, not hidden
    assert parse_rules(["x=ks:1"]) == {"x": Override("ks", 1.0)}
    assert Override("ks", 0.5).describe(2.5) == "ks >= 0.5 (major never: ks is at most 1)"
    assert Override("ks", 0.3).describe(2.5) == "ks >= 0.3 (major at 0.75)"


def test_the_page_and_the_cli_say_the_same_about_a_bad_rule(
    two_versions: Workspace, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    base = ["--workspace", str(two_versions.root), "drift", "report", "customers@v2"]
    for rule in ("income=nope:0.2", "plan=js:1.5"):
        with pytest.raises(InvalidInput) as caught:
            parse_rules([rule])
        expected = str(caught.value)
        assert main([*base, "--reference", "customers@v1", "--rule", rule]) == 1
        assert expected in capsys.readouterr().err
        next(t for t in at.text_area if t.key == "drift-rules").set_value(rule)
        next(b for b in at.button if b.label == "Run the report").click().run()
        assert [plain(e.value) for e in at.error] == [expected]
    assert reports.list_reports(two_versions) == []


# -- the typed report through the store ---------------------------------------------------


def test_a_report_round_trips_through_the_store_typed(two_versions: Workspace) -> None:
    config = DriftConfig(numeric_material=0.12, overrides={"age": Override("ks", 0.2)})
    made = reports.run_report(two_versions, "customers@v1", "customers@v2", config=config)
    got = reports.get_report(two_versions, made.report_id)
    assert isinstance(got, DriftReport) and got == made
    assert got.config == config and got.config_recorded and got.rule_note == ""
    assert all(isinstance(r, ColumnDrift) for r in got.results)
    age = {r.column: r for r in got.results}["age"]
    assert age.method == "ks >= 0.2 (override)" and age.stats["threshold"] == 0.2
    text = json.dumps(got.to_json(), allow_nan=False)  # standard JSON
    assert DriftReport.from_json(json.loads(text)) == got
    assert reports.list_reports(two_versions) == [got]
    sql = "SELECT config FROM drift_reports WHERE report_id = ?"
    stored = two_versions.store.read(lambda tx: tx.fetchone(sql, [made.report_id]))[0]
    assert DriftConfig.from_json(json.loads(stored)) == config


def test_the_rule_shown_everywhere_comes_from_the_stored_configuration(
    two_versions: Workspace, tmp_path: Path, capsys, monkeypatch
) -> None:
    """A report made with q = 0.005 and a 0.15 bound: the page, `workbench drift rule
    --report` and the HTML export show those, not today's 0.01 and 0.1."""
    config = DriftConfig(q_fdr=0.005, numeric_material=0.15)
    report = reports.run_report(two_versions, "customers@v1", "customers@v2", config=config)
    wanted = ("q = 0.005", "KS D is at least 0.15")

    argv = ["--workspace", str(two_versions.root), "drift", "rule", "--report"]
    assert main([*argv, report.report_id[:12]]) == 0  # the 12 characters `drift list` shows
    out = " ".join(capsys.readouterr().out.split())
    assert out == " ".join(config.rule().split()) and all(w in out for w in wanted)

    page = reports.export_html(two_versions, report.report_id, tmp_path / "r.html").read_text()
    assert str(escape(config.rule())) in page and str(escape(drift.RULE)) not in page

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    assert not at.exception and not at.error
    shown = [plain(m.value) for m in at.markdown if "Benjamini" in m.value]
    assert len(shown) == 1 and all(w in shown[0] for w in wanted), shown


def test_a_report_stored_before_configurations_reads_with_todays_rule(
    two_versions: Workspace, tmp_path: Path, capsys, monkeypatch
) -> None:
    report = reports.run_report(two_versions, "customers@v1", "customers@v2")
    sql = "UPDATE drift_reports SET config = NULL WHERE report_id = ?"
    two_versions.store.write(lambda tx: tx.execute(sql, [report.report_id]))
    old = reports.get_report(two_versions, report.report_id)
    assert old.config == DriftConfig() and not old.config_recorded
    assert old.results == report.results and old.to_json()["config"] is None
    note = "The rule was not recorded with this report; today's default is shown."
    assert old.rule_note == note

    argv = ["--workspace", str(two_versions.root), "drift", "rule", "--report", old.report_id]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(note) and " ".join(drift.RULE.split()) in " ".join(out.split())
    page = reports.export_html(two_versions, old.report_id, tmp_path / "r.html").read_text()
    assert str(escape(note)) in page
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    assert not at.exception and not at.error
    assert note in [plain(c.value) for c in at.caption]


def test_an_unknown_report_is_not_found(two_versions: Workspace, capsys) -> None:
    argv = ["--workspace", str(two_versions.root), "drift", "rule", "--report", "nope"]
    assert main(argv) == 1
    assert "Drift report nope not found" in capsys.readouterr().err


# -- the registry of methods --------------------------------------------------------------


@pytest.fixture
def mean_shift():
    """A method registered for one test: the absolute mean shift in reference sds."""
    method = methods.register(
        methods.Method(
            "mean_shift",
            ("numeric",),
            "mean_shift_sd",
            lambda figures, _a, _b: abs(figures.get("mean_shift_sd") or 0.0),
            0.1,
            "the mean's change over the reference sd (Cohen's d with the reference's sd)",
        )
    )
    yield method
    methods.unregister("mean_shift")


def test_a_method_registered_once_is_usable_by_name(
    two_versions: Workspace, mean_shift: methods.Method
) -> None:
    assert "mean_shift" in methods.names("numeric")
    assert "mean_shift" not in methods.names("categorical")
    assert parse_rules(["income=mean_shift:0.5"]) == {"income": Override("mean_shift", 0.5)}
    report = reports.run_report(
        two_versions,
        "customers@v1",
        "customers@v2",
        overrides={"income": Override("mean_shift", 0.5)},
    )
    income = {r.column: r for r in report.results}["income"]
    assert income.method == "mean_shift >= 0.5 (override)"
    assert income.verdict == "no drift"  # a 0.15 sd shift is below 0.5
    assert income.effect == pytest.approx(abs(income.stats["mean_shift_sd"]))
    with pytest.raises(InvalidInput, match="'mean_shift' is not a method for a categorical"):
        reports.run_report(
            two_versions, "customers@v1", "customers@v2", overrides={"plan": Override("mean_shift")}
        )
    with pytest.raises(InvalidInput, match="registered already"):
        methods.register(mean_shift)


def test_an_unregistered_method_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="use one of wasserstein, share, psi, ks, js or ignore"):
        methods.get("mean_shift")
    with pytest.raises(InvalidInput, match="'mean_shift' is not a drift method"):
        DriftConfig(overrides={"income": Override("mean_shift", 0.5)})


# -- libraries where they exist ------------------------------------------------------------


def test_performance_uses_scikit_learns_metrics() -> None:
    from sklearn.metrics import accuracy_score, root_mean_squared_error

    from workbench.drift import model_drift

    rng = np.random.default_rng(3)
    y = rng.normal(0, 1, 2000)
    ref, cur = (y, y + rng.normal(0, 0.5, 2000)), (y, y + rng.normal(0, 0.6, 2000))
    result = model_drift.performance_drift(ref, cur, classifier=False)
    assert result.reference == root_mean_squared_error(*ref)
    assert result.current == root_mean_squared_error(*cur)
    lo, hi = result.reference_interval
    assert lo < result.reference < hi
    labels = rng.integers(0, 2, 500)
    hits = model_drift.performance_drift((labels, labels), (labels, 1 - labels), classifier=True)
    assert (hits.reference, hits.current) == (accuracy_score(labels, labels), 0.0)
