"""The launch form's defaults (workbench.training.launch_defaults): the dataset the experiment used
last,
a sensible label as target, identifier-like columns left out of the features. Real DuckDB
workspace, real profiles; nothing mocked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.store.workspace import Workspace
from workbench.training import launch_defaults, runner
from workbench.training.task import RunSpec
from workbench.ui import nav


def penguins(rows: int = 120) -> pd.DataFrame:
    """Shaped like palmerpenguins: the label (species) first, `year` last."""
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "species": rng.choice(["Adelie", "Chinstrap", "Gentoo"], rows),
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], rows),
            "bill_length_mm": rng.normal(44, 5, rows).round(1),
            "flipper_length_mm": rng.integers(172, 231, rows),
            "body_mass_g": rng.integers(2700, 6300, rows),
            "sex": rng.choice(["male", "female"], rows),
            "year": rng.choice([2007, 2008, 2009], rows),
        }
    )


def churn(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(rows)],
            "tenure_months": rng.integers(1, 72, rows),
            "plan": rng.choice(["basic", "pro"], rows),
            "email": [f"u{i % 150}@example.com" for i in range(rows)],  # a key, not unique
            "monthly_charges": rng.normal(50, 10, rows).round(2),
            "churned": rng.random(rows) < 0.3,
        }
    )


def profile(ws: Workspace, frame: pd.DataFrame, name: str):
    version = wb.log_dataset(frame, name)
    return datasets.get_profile(ws, version)


def test_penguins_target_is_the_label_not_the_year(ws: Workspace) -> None:
    found = launch_defaults.column_defaults(profile(ws, penguins(), "penguins"))
    assert found.target == "species"  # the old form proposed `year` (the last column)
    assert "year" in found.features and found.left_out == {}


def test_without_a_label_name_the_last_plausible_label_is_taken(ws: Workspace) -> None:
    frame = penguins().rename(columns={"species": "kind"})
    found = launch_defaults.column_defaults(profile(ws, frame, "penguins"))
    assert found.target == "sex"  # the last column that is not a year, key or constant


def test_a_single_class_column_is_never_the_target(ws: Workspace) -> None:
    frame = penguins().assign(label="x", year=2009)  # a constant named like a label, last
    found = launch_defaults.column_defaults(profile(ws, frame, "penguins"))
    assert found.target == "species"


def test_identifier_like_columns_start_unticked_with_the_reason(ws: Workspace) -> None:
    found = launch_defaults.column_defaults(profile(ws, churn(), "churn"))
    assert found.target == "churned"
    assert found.features == ("tenure_months", "plan", "monthly_charges")
    assert found.left_out == {
        "customer_id": "unique per row",
        "email": "150 distinct values in 200 rows",
    }
    assert "`customer_id` (unique per row)" in found.note()


def test_the_dataset_is_the_one_the_experiment_used_last(ws: Workspace) -> None:
    wb.log_dataset(churn(), "churn")
    wb.log_dataset(penguins(), "breast_cancer")  # registered after: the newest version
    versions = [v for n in ("churn", "breast_cancer") for v in datasets.list_versions(ws, n)]
    assert launch_defaults.default_dataset(ws, "churn", versions) == "breast_cancer@v1"
    runner.launch(ws, RunSpec("churn@v1", "churned", "dummy"), experiment="churn", workers=1)
    runner.join(120)
    assert launch_defaults.last_dataset(ws, "churn") == "churn@v1"
    assert launch_defaults.default_dataset(ws, "churn", versions) == "churn@v1"
    assert launch_defaults.default_dataset(ws, "other", versions) == "breast_cancer@v1"


def test_the_launch_form_starts_on_these_defaults(ws: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")  # no background thread inside AppTest
    wb.log_dataset(churn(), "churn")
    with wb.start_run(experiment="churn") as run:
        run.log_input(datasets.get_version(ws, "churn@v1"))
    wb.log_dataset(penguins(), "breast_cancer")  # newer, listed first, not what `churn` used
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.EXPERIMENTS.file}").run()
    next(s for s in at.selectbox if s.label == "Experiment").select("churn").run()
    assert not at.exception, at.exception
    if not any(t.label == "Launch a run or a sweep" and t.value for t in at.toggle):
        next(t for t in at.toggle if t.label == "Launch a run or a sweep").set_value(True).run()
    assert next(s for s in at.selectbox if s.label == "Dataset version").value == "churn@v1"
    assert next(s for s in at.selectbox if s.label == "Target column").value == "churned"
    features = next(m for m in at.multiselect if m.label == "Features")
    assert features.value == ["tenure_months", "plan", "monthly_charges"]
    assert any("`customer_id` (unique per row)" in c.value for c in at.caption)
    next(s for s in at.selectbox if s.label == "Dataset version").select("breast_cancer@v1").run()
    assert next(s for s in at.selectbox if s.label == "Target column").value == "species"
    assert not at.exception, at.exception
