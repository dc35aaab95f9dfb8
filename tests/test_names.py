"""Issue #16, "names that spoof the display": one rule for every name. A run or
experiment name with a right-to-left override (U+202E) was accepted although the README
says names are printable; a model name was refused as a "Dataset name"; the artifact name
'.' was accepted. Each door: the SDK, the services the pages and the CLI call, the CLI,
and an MLflow store being imported (kept, with the hidden characters written out)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_run
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.registry import models as registry
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.validation import check_artifact_name, check_name

HIDDEN = {
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u200b": "ZERO WIDTH SPACE",
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE",
    "\u2028": "LINE SEPARATOR",
}


@pytest.mark.parametrize("char", list(HIDDEN))
def test_a_run_or_experiment_name_with_a_hidden_character_is_refused(
    ws: Workspace, char: str
) -> None:
    code = re.escape(f"U+{ord(char):04X}")
    with pytest.raises(InvalidInput, match=rf"Run name .* contains {code} \({HIDDEN[char]}\)"):
        wb.start_run(experiment="churn", name=f"invoice{char}fdp.exe")
    with pytest.raises(InvalidInput, match=rf"Experiment name .* contains {code}"):
        wb.start_run(experiment=f"churn{char}", name="rf")
    assert experiments.search_runs(ws) == [] and experiments.list_experiments(ws) == []


def test_a_blank_name_says_it_is_blank_and_a_hidden_character_in_a_reason_is_refused(
    ws: Workspace,
) -> None:
    """A newcomer's finds: a run named " " was told "must be 1 to 250 characters; got 1
    characters"; an override reason with U+202E showed reversed in the Admin page's audit
    table."""
    with pytest.raises(InvalidInput, match="Run name must not be blank"):
        wb.start_run(experiment="churn", name=" ")
    from tests.test_runner import binary_frame
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    wb.log_dataset(binary_frame(60), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    registry.register_model(ws, launch.run_ids[0], "clf")
    with pytest.raises(InvalidInput, match=r"The reason contains U\+202E \(RIGHT-TO-LEFT"):
        registry.set_alias(ws, "clf", "champion", 1, override=True, reason="r\u202eeason")
    assert registry.list_models(ws)[0].aliases == {}


def test_printable_names_stay_accepted(ws: Workspace) -> None:
    """Joiners are printable in effect (emoji sequences, Persian words); accents, CJK."""
    for name in ("👩\u200d💻 baseline", "می\u200cخواهم", "modèle ñ", "回归 v2", "a  b"):
        assert check_name(name, "Run") == name


def test_model_names_are_refused_as_model_names(ws: Workspace, capsys) -> None:
    run_id = make_run(experiment="churn", name="rf")
    with pytest.raises(
        InvalidInput,
        match=r"^Model name 'a/b' is not allowed: .*"
        r"e\.g\. 'churn-classifier'",
    ):
        registry.register_model(ws, run_id, "a/b")
    with pytest.raises(InvalidInput, match=r"^Model name 'm\\u202e' is not allowed"):
        registry.register_model(ws, run_id, "m\u202e")
    assert main(["models", "register", run_id, "a/b"]) == 1
    assert "Model name 'a/b' is not allowed" in capsys.readouterr().err
    with pytest.raises(InvalidInput, match=r"^Dataset name"):
        wb.log_dataset(__import__("pandas").DataFrame({"a": [1]}), "d\u202e")


@pytest.mark.parametrize(
    "name", [".", "./model.pkl", "a//b", "a/./b", "plots/", " ", "a/ /b", "x\u202etxt.exe"]
)
def test_an_artifact_name_must_be_a_file_name(ws: Workspace, tmp_path: Path, name: str) -> None:
    source = tmp_path / "report.txt"
    source.write_text("x")
    with wb.start_run(experiment="churn", name="rf") as run:
        with pytest.raises(InvalidInput, match="is not a file name"):
            run.log_artifact(source, name=name)
        assert run.log_artifact(source, name="plots/report.txt")
    detail = experiments.get_run(ws, run.run_id)
    assert [a.path for a in detail.artifacts] == ["plots/report.txt"]
    assert check_artifact_name("plots/confusion.csv") == "plots/confusion.csv"


def test_an_imported_mlflow_name_keeps_what_hides_in_it_written_out(
    ws: Workspace, tmp_path: Path
) -> None:
    """An MLflow store is not refused for a name: the run is kept, the override shown."""
    store = tmp_path / "mlflow.db"
    shutil.copy(ROOT / "tests" / "data" / "mlflow.db", store)
    with sqlite3.connect(store) as con:
        con.execute("UPDATE runs SET name = 'rf\u202e8-fr' WHERE name = 'rf-8'")
        con.execute("UPDATE experiments SET name = 'pricing\u200b' WHERE name = 'pricing'")
    assert main(["import-mlflow", f"sqlite:///{store}"]) == 0
    names = {r.name for r in experiments.search_runs(ws)}
    assert "rf\\u202e8-fr" in names and not any("\u202e" in n for n in names)
    assert {s.experiment.name for s in experiments.list_experiments(ws)} == {
        "churn",
        "pricing\\u200b",
    }
