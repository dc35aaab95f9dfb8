"""Found by a new user: text holding a lone surrogate (U+D800 to U+DFFF, half of a UTF-16
pair: JSON's "\\ud800", or a byte that is not UTF-8 in a command-line argument or a file
name, which Python keeps as "\\udcff") reached DuckDB, Arrow or a UTF-8 file and came back
as a bare UnicodeEncodeError, duckdb's InvalidInputException, "this is a bug", or HTTP 500.

Every door now refuses it with one InvalidInput (HTTP 400) naming the field, the character
as its escape and its position, and leaves the workspace as it was; and a name that shows
as blank (the Hangul filler U+3164) is refused as blank. Real workspaces, a real server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PYTHON, ROOT, make_run, subprocess_env
from tests.test_scoring_types import launched_model, post, served, visits
from workbench import sdk as wb
from workbench import validation
from workbench.datasets import versions as datasets
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

LONE = "\ud800"
BYTE = "\udcff"  # the byte 0xff of an argv or a file name that is not UTF-8


def _says(exc: pytest.ExceptionInfo, *parts: str) -> None:
    text = str(exc.value)
    for part in ("lone surrogate", *parts):
        assert part in text, (part, text)


# -- the scoring server ------------------------------------------------------------------------


def test_scoring_rows_with_a_lone_surrogate_get_a_400_naming_the_column(ws: Workspace) -> None:
    launched_model(ws, visits(), "churned", "visits")
    good = {"age": 40, "plan": "pro", "seen": "2024-03-01T00:00:00Z"}
    cases = [
        ("/predict", {"rows": [good, {**good, "plan": "x" + LONE}]}, "Column 'plan' of row 2"),
        ("/predict", {"rows": [{**good, LONE: 1}]}, "The column name '\\ud800' of row 1"),
        ("/predict", {"rows": [{**good, "seen": [LONE]}]}, "Column 'seen' of row 1"),
        ("/invocations", {"dataframe_records": [{**good, "plan": BYTE}]}, "Column 'plan'"),
        (
            "/invocations",
            {
                "dataframe_split": {
                    "columns": ["age", "plan", "seen"],
                    "data": [[1, LONE, "2024-03-01"]],
                }
            },
            "Column 'plan' of row 1",
        ),
        (
            "/invocations",
            {
                "dataframe_split": {
                    "columns": ["age", LONE, "seen"],
                    "data": [[1, "pro", "2024-03-01"]],
                }
            },
            "Column name 2 of dataframe_split.columns",
        ),
    ]
    with served(ws, "visits") as url:
        for path, body, where in cases:
            status, answer, _ = post(url + path, body)
            assert status == 400, (path, body, answer)
            assert answer["error"].startswith(where), answer
            assert "lone surrogate \\ud" in answer["error"] or "\\udcff" in answer["error"]
        # JSON in UTF-16 (which Python's json reads): the escape is not found in the bytes
        utf16 = json.dumps({"rows": [{**good, "plan": LONE}]}).encode("utf-16")
        status, answer, _ = post(url + "/predict", utf16)
        assert status == 400 and answer["error"].startswith("Column 'plan' of row 1"), answer
        # an emoji sent as its escaped UTF-16 pair is one character, and scores
        status, answer, _ = post(url + "/predict", {"rows": [{**good, "plan": "pro \U0001f600"}]})
        assert status == 200 and len(answer["predictions"]) == 1, answer


# -- the SDK -------------------------------------------------------------------------------


def test_params_tags_keys_and_names_with_a_lone_surrogate_are_refused(ws: Workspace) -> None:
    with wb.start_run(experiment="churn") as run:
        with pytest.raises(InvalidInput) as exc:
            run.log_params({"p": "a" + LONE})
        _says(exc, "Param 'p' value", "\\ud800", "position 2")
        with pytest.raises(InvalidInput) as exc:
            run.set_tags({"t": "a" + LONE})
        _says(exc, "Tag 't' value", "position 2")
        with pytest.raises(InvalidInput) as exc:
            run.log_params({"p" + LONE: 1})
        _says(exc, "Param key")
        with pytest.raises(InvalidInput) as exc:
            run.log_record("spec", "s", {"a": ["x", BYTE]})
        _says(exc, "['a'][1]", "the byte 0xff")
        run.log_params({"p": "fine"})  # the run goes on: nothing half-written
    detail = experiments.get_run(ws, run.run_id)
    assert detail.params == {"p": "fine"} and detail.tags == {}
    with pytest.raises(InvalidInput) as exc:
        wb.start_run(experiment="churn", name="r" + LONE)
    _says(exc, "Run name")
    with pytest.raises(InvalidInput) as exc:
        wb.start_run(experiment="c" + LONE)
    _says(exc, "Experiment name")
    assert [s.experiment.name for s in experiments.list_experiments(ws)] == ["churn"]
    assert len(experiments.search_runs(ws)) == 1


def test_a_failure_message_with_a_lone_surrogate_is_kept_escaped(ws: Workspace) -> None:
    """The run's end event carried the exception's text: its surrogate raised from
    __exit__, hiding the user's own error."""
    with pytest.raises(ValueError, match="bad"), wb.start_run(experiment="e") as run:
        raise ValueError("bad " + BYTE)
    detail = experiments.get_run(ws, run.run_id)
    assert detail.run.status == "failed"
    assert detail.run.error == "ValueError: bad \\udcff"


def test_a_dataset_with_a_lone_surrogate_is_refused_naming_the_column(ws: Workspace) -> None:
    # pandas 3 refuses such text in its own string type; an object column holds it
    named = pd.DataFrame([[1]], columns=pd.Index(["a" + LONE], dtype=object))
    with pytest.raises(InvalidInput) as exc:
        wb.log_dataset(named, "s")
    _says(exc, "the name of column 1", "position 2")
    cell = pd.DataFrame({"n": [1, 2], "a": pd.Series(["ok", "x" + LONE], dtype=object)})
    with pytest.raises(InvalidInput) as exc:
        wb.log_dataset(cell, "s")
    _says(exc, "column 'a' (df['a'].iloc[1]", "position 2")
    category = cell.assign(a=pd.Categorical(cell["a"]))
    with pytest.raises(InvalidInput) as exc:
        wb.log_dataset(category, "s")
    _says(exc, "a category of column 'a'")
    indexed = pd.DataFrame({"a": [1]}, index=pd.Index([5], name="i" + LONE))
    with pytest.raises(InvalidInput) as exc:
        wb.log_dataset(indexed, "s")
    _says(exc, "the index name")
    with pytest.raises(InvalidInput) as exc:
        wb.log_dataset(pd.Series([1], name="s" + LONE), "s")
    _says(exc, "The Series name")
    fine = pd.DataFrame({"a": ["x"]})
    with pytest.raises(InvalidInput) as exc:
        wb.log_dataset(fine, "s", message="m" + LONE)
    _says(exc, "The message")
    with pytest.raises(InvalidInput) as exc:
        wb.log_dataset(fine, "s", tags={"k": "v" + BYTE})
    _says(exc, "Tag 'k' value", "the byte 0xff")
    assert datasets.list_datasets(ws) == []


def test_a_filter_with_a_lone_surrogate_is_refused(ws: Workspace) -> None:
    make_run(experiment="churn", tags={"task": "x"})
    with pytest.raises(InvalidInput) as exc:
        wb.search_runs("churn", filter_string=f"tags.task = '{LONE}'")
    _says(exc, "The filter", "position 14")


# -- the command line ------------------------------------------------------------------------


def test_cli_arguments_and_file_names_that_are_not_utf8_are_refused(
    ws_path: Path, ws: Workspace, tmp_path: Path, capsys
) -> None:
    from workbench.cli.main import main

    csv = tmp_path / "f.csv"
    csv.write_text("a,b\n1,x\n")
    # a file name that is not UTF-8 (0xff) reads in Python as "nc-\udcff.csv"
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/nc-\xff.csv"))
    odd.write_bytes(csv.read_bytes())
    runs = [
        (["datasets", "add", str(csv), "--name", "b", "-m", "msg" + BYTE], "The message"),
        (["datasets", "add", str(csv), "--name", "b", "--tag", "k=" + BYTE], "Tag 'k' value"),
        (["datasets", "add", str(odd), "--name", "b"], "rename the file"),
        (["runs", "list", "--filter", f"tags.x = '{BYTE}'"], "The filter"),
    ]
    for argv, part in runs:
        assert main(["--workspace", str(ws_path), *argv]) == 1, argv
        err = capsys.readouterr().err
        assert part in err and "\\udcff" in err and "0xff" in err, (argv, err)
        assert "bug" not in err and "could not be read as CSV" not in err, err
    assert datasets.list_datasets(ws) == []


def test_argv_bytes_that_are_not_utf8_get_one_clear_line(
    ws_path: Path, ws: Workspace, tmp_path: Path
) -> None:
    """As a shell passes them: the bytes of $'msg\\xff', not a Python string."""
    csv = tmp_path / "f.csv"
    csv.write_text("a,b\n1,x\n")
    argv = [
        PYTHON.encode(),
        b"-m",
        b"workbench.cli",
        b"--workspace",
        os.fsencode(ws_path),
        b"datasets",
        b"add",
        os.fsencode(csv),
        b"--name",
        b"b",
        b"-m",
        b"msg\xff",
    ]
    out = subprocess.run(
        argv, capture_output=True, env=subprocess_env(ws_path), cwd=ROOT, timeout=120
    )
    err = out.stderr.decode("utf-8", "replace")
    assert out.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert "The message 'msg\\udcff' holds a lone surrogate \\udcff at position 4" in err, err
    assert "bug" not in err


# -- names that show as blank, and how a surrogate is named ---------------------------------------


@pytest.mark.parametrize(
    "blank",
    ["\u3164", "\u115f", "\u1160", "\uffa0", " \u3164 ", "\u2800", "\u3164\ufe0f", "\t\u3164"],
)
def test_a_name_that_shows_as_blank_is_refused(ws: Workspace, blank: str) -> None:
    with pytest.raises(InvalidInput, match="must not be blank"):
        validation.check_name(blank, "Run")
    with pytest.raises(InvalidInput, match="not allowed"):
        validation.check_key(blank + "a", "Param")
    with pytest.raises(InvalidInput, match="must not be blank"):
        wb.start_run(experiment="e", name=blank)
    assert experiments.search_runs(ws) == []


def test_a_blank_name_from_mlflow_is_kept_written_out() -> None:
    """An MLflow store is imported as it is: a name that would show as blank is kept with
    its fillers written out, as hidden characters are, not refused mid-import."""
    assert validation.visible_name("\u3164") == "\\u3164"
    assert validation.visible_name(" \uffa0") == " \\uffa0"
    assert validation.check_name(validation.visible_name("\u3164"), "Experiment") == "\\u3164"


def test_a_filler_inside_a_name_is_kept() -> None:
    assert validation.check_name("a\u3164b", "Run") == "a\u3164b"
    assert validation.check_name("\u1100\u1160", "Run") == "\u1100\u1160"  # old Hangul


def test_a_lone_surrogate_is_named_as_one_not_as_an_unassigned_code_point() -> None:
    for check in (
        lambda t: validation.check_name(t, "Run"),
        lambda t: validation.check_note(t, "The reason"),
        validation.check_dataset_name,
        validation.check_artifact_name,
    ):
        with pytest.raises(InvalidInput) as exc:
            check("a" + LONE)
        assert "unassigned" not in str(exc.value)
        _says(exc, "\\ud800", "half of a UTF-16 pair")
    assert validation._char_name(LONE) == "a lone surrogate (half of a UTF-16 pair)"


def test_the_database_refuses_a_lone_surrogate_clearly_if_a_check_is_missed(
    ws: Workspace,
) -> None:
    """The net under the checks: text that reaches DuckDB is InvalidInput, not duckdb's
    InvalidInputException, on a read as on a write (which leaves nothing behind)."""
    from workbench.store import tracking

    with pytest.raises(InvalidInput) as exc:
        ws.store.read(lambda tx: tracking.find_experiment(tx, "e" + BYTE))
    _says(exc, "the byte 0xff", "position 2")
    with pytest.raises(InvalidInput):
        experiments.create_run(ws, experiment="ok", name=None, user="u" + LONE)
    assert experiments.list_experiments(ws) == []


def test_a_workspace_path_that_is_not_utf8_is_refused_before_anything_is_made(
    tmp_path: Path, capsys
) -> None:
    """`--workspace $'/tmp/w\\xff'` said "a bug" (DuckDB: std::bad_cast) after making blobs/,
    runs/ and a queue file there; the SDK raised a bare RuntimeError. Refused first, by
    name, in every door (the CLI here; the SDK opens workspaces the same way)."""
    from workbench.cli.main import main

    root = tmp_path / "w\udcff"
    assert main(["--workspace", str(root), "runs", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: The workspace path {str(root)!r} holds a lone surrogate")
    assert "Traceback" not in err and "bug" not in err
    assert not os.path.lexists(root)
