"""Issue 14, items 5 and 6: what is normalized when data is registered is normalized when it is
scored, at every scoring door (SDK predict, batch scoring, REST, model drift, champion vs
challenger), and a model's signature comes from the data it was fitted on.

Real scikit-learn fits on small data, real DuckDB workspaces, a real uvicorn server."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tests.live import free_port
from workbench import sdk as wb
from workbench.drift import model_drift
from workbench.registry import models as registry
from workbench.registry import signature
from workbench.registry.promotion import compare
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.task import RunSpec

UTC_PLUS_1 = dt.timezone(dt.timedelta(hours=1))


def visits(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Customers with an integer, a text and a timestamp column; the label depends on all."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "seen": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300 * 24, n), "h"),
        }
    )
    frame["churned"] = (frame["age"] > 50) ^ (frame["seen"] > pd.Timestamp("2024-06-01"))
    return frame


def launched_model(
    ws: Workspace,
    frame: pd.DataFrame,
    target: str,
    name: str,
    estimator: str = "logistic",
    dataset: str = "data",
) -> str:
    """Register ``frame``, train ``estimator`` on it from the app's runner, register the
    model; returns the dataset version's ref."""
    version = wb.log_dataset(frame, dataset)
    launch = runner.launch(ws, RunSpec(version.ref, target, estimator), experiment="t", wait=True)
    assert experiments.get_run(ws, launch.run_ids[0]).run.status == "finished"
    wb.register_model(launch.run_ids[0], name)
    return version.ref


def autologged(fit) -> str:
    """Run ``fit()`` under wb.autolog(); the id of the run it logged."""
    wb.autolog("notebook")
    try:
        fit()
    finally:
        wb.autolog(disable=True)
    runs = experiments.search_runs(wb.workspace(), query="tags.autolog = 'sklearn'")
    return runs[0].run_id


@contextmanager
def served(ws: Workspace, ref: str) -> Iterator[str]:
    import uvicorn

    from workbench.registry.serving import build_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(ws, ref), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def post(url: str, body: object) -> tuple[int, dict, str]:
    """(status, parsed JSON, raw text); the text is parsed strictly (no NaN/Infinity)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    return status, json.loads(text, parse_constant=_no_constants), text


def _no_constants(token: str):
    raise AssertionError(f"non-standard JSON token {token}")


# -- item 5: time-zone-aware timestamps --------------------------------------------------------


def test_tz_aware_timestamps_score_in_utc_from_the_sdk(ws: Workspace) -> None:
    ref = launched_model(ws, visits(), "churned", "visits")
    model = wb.load_model("visits")
    rows = wb.load_dataset(ref).drop(columns="churned").head(40)
    assert str(rows["seen"].dtype).startswith("datetime64") and rows["seen"].dt.tz is None
    aware = rows.assign(seen=rows["seen"].dt.tz_localize("UTC").dt.tz_convert(UTC_PLUS_1))
    assert str(aware["seen"].dtype) == "datetime64[us, UTC+01:00]"
    # the same instants: the same probabilities, to the bit (old code: a raw TypeError)
    np.testing.assert_array_equal(model.predict_proba(aware), model.predict_proba(rows))
    assert list(model.predict(aware)) == list(model.predict(rows))
    assert (model.conform(aware)["seen"] == rows["seen"]).all()
    # reading the wall clock (dropping the zone without converting) would score another time
    wall = rows.assign(seen=rows["seen"] + pd.Timedelta(hours=1))
    assert not np.array_equal(model.predict_proba(wall), model.predict_proba(rows))
    # python datetimes with offsets, and ISO text, in one frame type each
    as_objects = rows.assign(
        seen=[t.to_pydatetime().replace(tzinfo=dt.UTC).astimezone(UTC_PLUS_1) for t in rows["seen"]]
    )
    np.testing.assert_array_equal(model.predict_proba(as_objects), model.predict_proba(rows))
    as_text = rows.assign(seen=rows["seen"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    np.testing.assert_array_equal(model.predict_proba(as_text), model.predict_proba(rows))
    with pytest.raises(InvalidInput, match=r"Column 'seen' holds 'yesterday'.*ISO 8601"):
        model.predict(rows.assign(seen="yesterday"))
    with pytest.raises(InvalidInput, match=r"Column 'seen' has type integer.*timestamps"):
        model.predict(rows.assign(seen=1714521600))


def test_tz_aware_timestamps_score_in_utc_over_rest(ws: Workspace) -> None:
    launched_model(ws, visits(), "churned", "visits")
    model = wb.load_model("visits")
    naive = pd.DataFrame(
        {
            "age": [30, 64],
            "plan": ["pro", "basic"],
            "seen": pd.to_datetime(["2024-05-01 00:00", "2024-08-01 12:30"]),
        }
    )
    expected = model.predict_proba(naive).round(6).tolist()
    spellings = (
        ["2024-05-01T00:00:00Z", "2024-08-01T12:30:00Z"],
        ["2024-05-01T01:00:00+01:00", "2024-08-01T08:30:00-04:00"],
        ["2024-05-01T00:00:00", "2024-08-01 12:30:00"],
    )  # no offset: UTC
    with served(ws, "visits") as url:
        for path in ("/predict", "/invocations"):
            for seen in spellings:
                rows = [
                    {"age": 30, "plan": "pro", "seen": seen[0]},
                    {"age": 64, "plan": "basic", "seen": seen[1]},
                ]
                status, body, _ = post(url + path, {"rows": rows})
                assert status == 200, body  # old code: HTTP 500
                assert body["probabilities"] == expected, seen
        status, body, _ = post(
            url + "/invocations",
            {
                "dataframe_split": {
                    "columns": ["age", "plan", "seen"],
                    "data": [
                        [30, "pro", "2024-05-01T00:00:00Z"],
                        [64, "basic", "2024-08-01T12:30Z"],
                    ],
                }
            },
        )
        assert status == 200 and body["probabilities"] == expected, body
        status, body, _ = post(
            url + "/predict", {"rows": [{"age": 30, "plan": "pro", "seen": "soon"}]}
        )
        assert status == 400 and "Column 'seen' holds 'soon'" in body["error"]
        status, body, _ = post(
            url + "/predict", {"rows": [{"age": 30.5, "plan": "pro", "seen": "2024-05-01"}]}
        )
        assert status == 400 and "Column 'age' holds 30.5, not a whole number" in body["error"]
        status, body, _ = post(
            url + "/predict", {"rows": [{"age": 2**70, "plan": "pro", "seen": "2024-05-01"}]}
        )
        assert status == 400 and "Column 'age'" in body["error"], body
        status, body, _ = post(
            url + "/predict", {"rows": [{"age": {"x": 1}, "plan": "pro", "seen": "2024-05-01"}]}
        )
        assert status == 400 and "Column 'age'" in body["error"], body
        status, body, _ = post(url + "/predict", b"{not json")
        assert status == 400


def test_integers_sent_as_whole_floats_and_missing_values(ws: Workspace) -> None:
    launched_model(ws, visits(), "churned", "visits")
    model = wb.load_model("visits")
    rows = visits().drop(columns="churned").head(10)
    as_floats = rows.assign(age=rows["age"].astype(float))
    np.testing.assert_array_equal(model.predict_proba(as_floats), model.predict_proba(rows))
    assert model.conform(as_floats)["age"].dtype == np.int64
    with_gap = rows.assign(age=rows["age"].astype(float).where(rows.index != 3))
    assert len(model.predict(with_gap)) == 10  # NaN is missing: the pipeline imputes it
    with pytest.raises(InvalidInput, match=r"Column 'age' holds 41.5, not a whole number"):
        model.predict(rows.assign(age=41.5))
    with pytest.raises(InvalidInput, match=r"Column 'plan' has type integer"):
        model.predict(rows.assign(plan=3))


def test_decimals_score_as_floats(ws: Workspace) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"price": rng.normal(100, 20, 200).round(2), "qty": rng.integers(1, 9, 200)}
    )
    frame["spend"] = frame["price"] * frame["qty"]
    launched_model(ws, frame, "spend", "spend", estimator="linear")
    model = wb.load_model("spend")
    price = {c["name"]: c for c in model.signature["inputs"]}["price"]
    assert price["family"] == "float"
    rows = frame.drop(columns="spend").head(20)
    exact = rows.assign(price=[decimal.Decimal(f"{p:.2f}") for p in rows["price"]])
    assert pd.api.types.infer_dtype(exact["price"]) == "decimal"
    np.testing.assert_allclose(model.predict(exact), model.predict(rows), rtol=0, atol=1e-9)
    # +inf is missing to the model, as NaN is (training imputes both the same way)
    with_inf = rows.assign(price=rows["price"].where(rows.index != 2, np.inf))
    with_nan = rows.assign(price=rows["price"].where(rows.index != 2, np.nan))
    np.testing.assert_array_equal(model.predict(with_inf), model.predict(with_nan))


def test_booleans_and_yes_no_text(ws: Workspace) -> None:
    rng = np.random.default_rng(5)
    n = 200
    frame = pd.DataFrame(
        {
            "smoker": rng.choice(["Yes", "No"], n),
            "vip": rng.random(n) < 0.4,
            "bill": rng.normal(20, 5, n).round(2),
        }
    )
    frame["big_tip"] = (frame["smoker"] == "Yes") | frame["vip"]
    launched_model(ws, frame, "big_tip", "tips")
    model = wb.load_model("tips")
    families = {c["name"]: c["family"] for c in model.signature["inputs"]}
    assert families == {"smoker": "string", "vip": "boolean", "bill": "float"}
    rows = frame.drop(columns="big_tip").head(20)
    expected = model.predict_proba(rows)
    # booleans as registration reads them from text: true/false spellings
    as_text = rows.assign(vip=rows["vip"].map({True: "TRUE", False: "false"}))
    np.testing.assert_array_equal(model.predict_proba(as_text), expected)
    as_bits = rows.assign(vip=rows["vip"].astype(int))
    np.testing.assert_array_equal(model.predict_proba(as_bits), expected)
    with pytest.raises(InvalidInput, match=r"Column 'vip' holds the text 'yes'.*true/false"):
        model.predict(rows.assign(vip="yes"))
    with pytest.raises(InvalidInput, match=r"Column 'smoker' has type boolean"):
        model.predict(rows.assign(smoker=True))
    with served(ws, "tips") as url:  # the text column takes its own yes/no spellings
        records = json.loads(rows.to_json(orient="records"))
        status, body, _ = post(url + "/predict", {"rows": records})
        assert status == 200 and body["probabilities"] == expected.round(6).tolist(), body
        assert {r["smoker"] for r in records} == {"Yes", "No"}


def test_a_csv_with_yes_no_and_true_false_columns_round_trips(
    ws: Workspace, tmp_path: Path
) -> None:
    rng = np.random.default_rng(6)
    n = 150
    frame = pd.DataFrame(
        {
            "smoker": rng.choice(["Yes", "No"], n),
            "weekend": rng.choice(["true", "false"], n),
            "bill": rng.normal(20, 5, n).round(2),
        }
    )
    frame["big"] = np.where(frame["bill"] > 20, "high", "low")
    path = tmp_path / "tips.csv"
    frame.to_csv(path, index=False)
    version = wb.log_dataset(path, "tips")
    launch = runner.launch(ws, RunSpec(version.ref, "big", "logistic"), experiment="t", wait=True)
    wb.register_model(launch.run_ids[0], "tips-clf")
    model = wb.load_model("tips-clf")
    loaded = wb.load_dataset(version.ref)
    assert len(model.predict(loaded.drop(columns="big"))) == n
    # the true/false spellings of the file itself score as the booleans registration made
    assert {c["name"]: c["family"] for c in model.signature["inputs"]}["weekend"] == "boolean"
    raw = loaded.drop(columns="big").assign(weekend=frame["weekend"])
    np.testing.assert_array_equal(
        model.predict_proba(raw), model.predict_proba(loaded.drop(columns="big"))
    )


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_non_finite_predictions_are_null_in_standard_json(ws: Workspace) -> None:
    X = pd.DataFrame({"x": np.linspace(0, 10, 50)})
    run_id = autologged(lambda: LinearRegression().fit(X, 3 * X["x"] + 1))
    wb.register_model(run_id, "line")
    with served(ws, "line") as url:
        status, body, text = post(url + "/predict", {"rows": [{"x": 1.0}, {"x": 1e308}]})
    assert status == 200, text  # old code: JSONResponse refused inf: HTTP 500
    assert body["predictions"][0] == pytest.approx(4.0) and body["predictions"][1] is None
    assert "1 prediction value not a finite number" in body["note"]  # parsed strictly above


# -- item 6: signatures from the fit data ------------------------------------------------------


def _pipeline() -> Pipeline:
    prep = ColumnTransformer(
        [("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(), ["plan"])]
    )
    return Pipeline([("prep", prep), ("clf", LogisticRegression())])


def test_autolog_records_the_signature_of_the_fit_data(ws: Workspace) -> None:
    frame = visits()
    X, y = frame[["age", "plan"]], frame["churned"]
    pipe = _pipeline()
    run_id = autologged(lambda: pipe.fit(X, y))
    version = wb.register_model(run_id, "pipe")
    assert version.signature["inputs"] == [
        {"name": "age", "family": "integer", "dtype": str(X["age"].dtype)},
        {"name": "plan", "family": "string", "dtype": str(X["plan"].dtype)},
    ]  # old code: both "float", guessed from the names
    assert version.signature["source"] == "training data"
    assert "`age` (integer), `plan` (string)" in version.card
    model = wb.load_model("pipe")
    assert list(model.predict(X)) == list(pipe.predict(X))  # old code: refused plan
    assert experiments.get_run(ws, run_id).tags["model.sha256"] == version.sha256


def test_a_model_logged_by_hand_gets_its_signature_from_the_example(ws: Workspace) -> None:
    frame = visits()
    X, y = frame[["age", "plan"]], frame["churned"]
    pipe = _pipeline().fit(X, y)
    with wb.start_run(experiment="hand", name="by hand") as run:
        run.log_model(pipe, input_example=X.head(5))
    version = wb.register_model(run.run_id, "hand")
    assert [(c["name"], c["family"]) for c in version.signature["inputs"]] == [
        ("age", "integer"),
        ("plan", "string"),
    ]
    assert list(wb.load_model("hand").predict(X)) == list(pipe.predict(X))
    # the module-level call, with MLflow's infer_signature, and without a run
    sig = wb.infer_signature(X, pipe.predict(X))
    assert sig["inputs"][1] == {"name": "plan", "family": "string", "dtype": str(X["plan"].dtype)}
    run_id = wb.log_model(pipe, signature=sig)
    assert [c["family"] for c in wb.register_model(run_id, "hand").signature["inputs"]] == [
        "integer",
        "string",
    ]
    with pytest.raises(InvalidInput, match="not the columns the model was fitted on"):
        wb.log_model(pipe, input_example=X.rename(columns={"plan": "tier"}))


def test_without_data_the_signature_says_what_is_not_known(ws: Workspace) -> None:
    frame = visits()
    X, y = frame[["age", "plan"]], frame["churned"]
    pipe = _pipeline().fit(X, y)
    with pytest.warns(UserWarning, match="input types are not recorded"):
        run_id = wb.log_model(pipe)
    version = wb.register_model(run_id, "names")
    assert [c["family"] for c in version.signature["inputs"]] == ["unknown", "unknown"]
    assert version.signature["source"] == "feature names only"
    assert "`age` (type not recorded)" in version.card
    assert list(wb.load_model("names").predict(X)) == list(pipe.predict(X))


def test_an_array_fit_gets_a_positional_signature(ws: Workspace) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] + X[:, 1] > 0
    clf = LogisticRegression()
    run_id = autologged(lambda: clf.fit(X, y))
    version = wb.register_model(run_id, "arr")  # old code: refused ("no feature names")
    assert version.signature["inputs"] == []
    assert version.signature["positional"] == {"n_features": 3, "family": "float"}
    assert "3 unnamed columns" in version.card
    model = wb.load_model("arr")
    assert list(model.predict(X[:10])) == list(clf.predict(X[:10]))
    assert list(model.predict(pd.DataFrame(X[:10]))) == list(clf.predict(X[:10]))
    with pytest.raises(InvalidInput, match=r"array of 3 unnamed columns.*got 2"):
        model.predict(pd.DataFrame(X[:10, :2]))
    wb.log_dataset(pd.DataFrame(X, columns=["a", "b", "c"]), "arr-data")
    with pytest.raises(InvalidInput, match="fitted on an unnamed array"):
        wb.predict("arr", "arr-data")
    with served(ws, "arr") as url:
        status, body, _ = post(url + "/predict", {"rows": X[:2].tolist()})
        assert status == 200 and body["predictions"] == clf.predict(X[:2]).tolist(), body


def test_feature_names_and_counts_are_checked_against_the_record(ws: Workspace) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    clf = LogisticRegression().fit(X, X[:, 0] > 0)
    with pytest.raises(
        InvalidInput, match="input example has 2 columns but the model was fitted on 3"
    ):
        wb.log_model(clf, input_example=X[:, :2])
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    named = LogisticRegression().fit(frame, frame["a"] > 0)
    run_id = wb.log_model(named, input_example=frame[["c", "a", "b"]])
    inputs = wb.register_model(run_id, "order").signature["inputs"]
    assert [c["name"] for c in inputs] == ["a", "b", "c"]  # the fit's order (feature_names_in_)
    assert len(wb.load_model("order").predict(frame[["b", "c", "a"]])) == 60


# -- round trip: a model trained on registered data scores that data, every type ---------------


def every_type(n: int = 160, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "count": rng.integers(0, 50, n),
            "count_gaps": pd.array(rng.integers(0, 50, n), dtype="Int64"),
            "ratio": rng.normal(0, 1, n),
            "flag": rng.random(n) < 0.5,
            "plan": rng.choice(["basic", "pro", "team"], n).astype(object),
            "signup": [
                dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)
            ],
            "seen": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "min"),
            "seen_tz": (
                pd.Timestamp("2024-01-01", tz="Europe/Paris")
                + pd.to_timedelta(rng.integers(0, 10**6, n), "min")
            ),
            "amount": [decimal.Decimal(f"{v:.2f}") for v in rng.normal(100, 10, n)],
        }
    )
    frame.loc[frame.index[::7], "ratio"] = np.nan
    frame.loc[frame.index[::9], "count_gaps"] = pd.NA
    frame.loc[frame.index[::11], "plan"] = None
    frame["label"] = np.where(frame["count"] > 25, "high", "low")
    return frame


@pytest.mark.parametrize("estimator", ["logistic", "random_forest"])
def test_every_column_type_round_trips_through_every_door(ws: Workspace, estimator) -> None:
    ref = launched_model(ws, every_type(), "label", "all-types", estimator)
    loaded = wb.load_dataset(ref)
    model = wb.load_model("all-types")
    X = loaded.drop(columns="label")
    pred = model.predict(X)
    assert len(pred) == len(loaded) and (pred == loaded["label"]).mean() > 0.8
    # the frame as the user had it before registering scores the same
    original = every_type().drop(columns="label")
    np.testing.assert_array_equal(model.predict_proba(original), model.predict_proba(X))
    # batch scoring, champion vs challenger, model drift: the same conversion
    scored = wb.load_dataset(wb.predict("all-types", ref).ref)
    assert list(scored["prediction"]) == list(pred)
    registry.set_alias(ws, "all-types", "champion", 1)
    # champion and challenger on one version are refused: a second version of the same run
    registry.register_model(ws, registry.get_version(ws, "all-types/1").run_id, "all-types")
    registry.set_alias(ws, "all-types", "challenger", 2)
    comparison = compare(ws, "all-types", ref, "label", n_boot=50)
    assert comparison.champion_score == comparison.challenger_score > 0.8
    report = model_drift.model_drift(ws, "all-types", ref, ref, target="label")
    assert report.performance is not None and report.performance.verdict == "no change"
    # REST, rows as JSON carries them (ISO text for dates and timestamps)
    records = json.loads(X.head(25).to_json(orient="records", date_format="iso"))
    with served(ws, "all-types") as url:
        status, body, _ = post(url + "/predict", {"rows": records})
    assert status == 200, body
    assert body["predictions"] == list(pred[:25])


def test_an_autologged_model_round_trips_on_registered_data(ws: Workspace) -> None:
    version = wb.log_dataset(every_type(), "all")
    loaded = wb.load_dataset(version.ref)
    X, y = loaded[["count", "ratio", "flag", "plan"]].dropna(), None
    y = loaded.loc[X.index, "label"]
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["count", "ratio", "flag"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression(max_iter=500))])
    run_id = autologged(lambda: pipe.fit(X, y))
    families = [c["family"] for c in wb.register_model(run_id, "auto").signature["inputs"]]
    assert families == ["integer", "float", "boolean", "string"]
    assert list(wb.load_model("auto").predict(X)) == list(pipe.predict(X))


def test_conform_rules_column_by_column() -> None:
    """The documented rule per type, on the function every door uses."""

    def one(family: str, values, dtype: str | None = None) -> pd.Series:
        sig = {"inputs": [{"name": "c", "family": family, "dtype": dtype}], "output": {}}
        return signature.conform(sig, pd.DataFrame({"c": values}))["c"]

    assert one("integer", [1.0, 2.0], "int64").tolist() == [1, 2]
    assert one("integer", [1.0, None], "int64").isna().tolist() == [False, True]
    assert one("integer", [1, None], "Int64").dtype == "Int64"
    assert one("float", [decimal.Decimal("1.25"), None]).tolist()[0] == 1.25
    assert one("boolean", ["True", " false "]).tolist() == [True, False]
    assert one("boolean", [1, 0]).tolist() == [True, False]
    assert one("boolean", [True, None]).dtype == "boolean"
    stamps = one("timestamp", ["2024-05-01T02:00:00+02:00", "2024-05-01"], "datetime64[us]")
    assert stamps.tolist() == [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-05-01")]
    assert str(stamps.dtype) == "datetime64[us]"
    assert one("date", ["2024-05-01T23:30:00-02:00"], "object").tolist() == [dt.date(2024, 5, 2)]
    assert one("string", pd.Categorical(["a", None])).tolist()[0] == "a"
    assert one("timestamp", [None, None], "datetime64[us]").isna().all()
    assert one("unknown", ["anything", 1]).tolist() == ["anything", 1]
    for family, values, message in [
        ("integer", [2**60 + 0.5 * 2**10], "too large"),
        ("integer", [np.inf], r"\+inf/-inf"),
        ("integer", [True], "has type boolean"),
        ("float", ["1.5"], "has type string"),
        ("boolean", [2], "holds 2"),
        ("boolean", ["yes"], "holds the text 'yes'"),
        ("string", [1, "a"], "has type mixed"),
        ("timestamp", ["2024-13-45"], "holds '2024-13-45'"),
        ("date", [3.5], "has type float"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            one(family, values)
    with pytest.raises(InvalidInput, match="Column 'c' is missing"):
        signature.conform(
            {"inputs": [{"name": "c", "family": "float"}], "output": {}}, pd.DataFrame({"d": [1.0]})
        )


def test_exact_decimals_are_fitted_and_scored_as_floats() -> None:
    """Once DECIMAL columns load as Python Decimals, training fits them as numbers (not as
    one-hot categories) and the signature says float, so scoring converts them the same."""
    import io

    import joblib

    from workbench.training.task import train

    rng = np.random.default_rng(4)
    price = rng.normal(100, 20, 200).round(2)
    frame = pd.DataFrame(
        {"price": [decimal.Decimal(f"{p:.2f}") for p in price], "qty": rng.integers(1, 9, 200)}
    )
    frame["spend"] = [
        decimal.Decimal(f"{p * q:.2f}") for p, q in zip(price, frame["qty"], strict=True)
    ]
    result = train(RunSpec("x@v1", "spend", "linear"), frame)
    assert result.task == "regression" and result.metrics["r2"] > 0.9  # old: one-hot prices
    pipeline = joblib.load(io.BytesIO(result.model))
    sig = signature.infer(frame, ["price", "qty"], pipeline, "regression")
    assert [c["family"] for c in sig["inputs"]] == ["float", "integer"]
    model = signature.LoadedModel(pipeline, sig, "x/1", {})
    as_floats = frame[["price", "qty"]].assign(price=price)
    np.testing.assert_allclose(
        model.predict(frame[["price", "qty"]]), model.predict(as_floats), rtol=0, atol=1e-9
    )


# -- property: registration and scoring apply one rule ----------------------------------------

NAMES = ["select", "Ünïcode col", "from", "a b", 'x"y', "order", "値"]
TEXT = ["true", "False", "yes", "No", "a", "ü", "SELECT", "", " 1.5 "]


@st.composite
def mixed_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    kinds = draw(
        st.lists(
            st.sampled_from(
                ["int", "int_gaps", "float", "bool", "text", "tz", "date", "decimal", "empty"]
            ),
            min_size=1,
            max_size=5,
        )
    )
    names = draw(st.permutations(NAMES))[: len(kinds)]
    stamps = st.datetimes(
        dt.datetime(1900, 1, 1),
        dt.datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [dt.UTC, UTC_PLUS_1, dt.timezone(dt.timedelta(hours=-9, minutes=-30))]
        ),
    )
    columns = {}
    for name, kind in zip(names, kinds, strict=True):
        cells = {
            "int": st.integers(-(2**63), 2**63 - 1),
            "int_gaps": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
            "float": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            "bool": st.one_of(st.none(), st.booleans()),
            "text": st.one_of(st.none(), st.sampled_from(TEXT)),
            "tz": st.one_of(st.none(), stamps),
            "date": st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1))),
            "decimal": st.one_of(
                st.none(), st.decimals(-(10**12), 10**12, places=3, allow_nan=False)
            ),
            "empty": st.none(),
        }[kind]
        values = draw(st.lists(cells, min_size=n, max_size=n))
        if kind == "int":
            columns[name] = pd.Series(values, dtype="int64")
        elif kind == "int_gaps":
            columns[name] = pd.Series(values, dtype="Int64")
        elif kind == "float":
            columns[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "tz":
            columns[name] = pd.Series(pd.to_datetime(values, utc=True)).dt.tz_convert(UTC_PLUS_1)
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=mixed_frames())
def test_scoring_a_frame_applies_the_rule_registration_applied(ws: Workspace, frame) -> None:
    """Register a generated frame, load it back, take the signature a model fitted on it
    gets: the frame as the user had it and the frame as loaded conform to the same values
    (or both are refused with InvalidInput), and a model fitted on it scores both alike."""
    from sklearn.tree import DecisionTreeRegressor

    from workbench.training.task import build_pipeline

    try:  # a new name each time: the same rows in another order would be the same version
        version = wb.log_dataset(frame, f"prop-{uuid.uuid4().hex[:8]}")
    except InvalidInput:
        return  # registration refuses with its own clear message (the datasets' tests)
    loaded = wb.load_dataset(version.ref)
    sig = {"inputs": signature.describe(loaded), "output": {"kind": "regression"}}
    results = []
    for data in (frame, loaded):
        try:
            results.append(signature.conform(sig, data))
        except InvalidInput as exc:
            results.append(str(exc))
    original, reloaded = results
    assert type(original) is type(reloaded), (original, reloaded)
    if isinstance(original, str):
        assert original == reloaded and "Column " in original
        return
    for spec in sig["inputs"]:
        a, b = original[spec["name"]], reloaded[spec["name"]]
        if spec["family"] == "unknown":
            continue
        if spec["family"] == "float":
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-15)
        else:
            pd.testing.assert_series_equal(a, b, check_names=False)
    features = [
        c["name"]
        for c in sig["inputs"]
        if c["family"] != "unknown" and reloaded[c["name"]].notna().any()
    ]
    if not features:
        return
    sig = {
        "inputs": [c for c in sig["inputs"] if c["name"] in features],
        "output": {"kind": "regression"},
    }
    # the app's preprocessing, without the scaling that overflows past 1e154 (a training
    # limit, reported), and a tree
    pipe = build_pipeline(reloaded, features, DecisionTreeRegressor(random_state=0))
    for part in ("num", "date"):
        if part in [name for name, *_ in pipe.named_steps["prep"].transformers]:
            pipe.set_params(**{f"prep__{part}__standardscaler": "passthrough"})
    try:
        pipe.fit(reloaded[features], np.arange(len(reloaded), dtype=float))
    except ValueError:  # a tree computes in float32: beyond 3.4e38 is the trainer's limit
        assume(False)
    model = signature.LoadedModel(pipe, sig, "prop/1", {})
    np.testing.assert_allclose(
        model.predict(frame[features]), model.predict(loaded[features]), rtol=1e-9
    )


def test_an_exported_version_is_standard_json(ws: Workspace, tmp_path: Path) -> None:
    X = pd.DataFrame({"x": np.linspace(0, 1, 30)})
    model = LinearRegression().fit(X, 2 * X["x"])
    with wb.start_run(experiment="nan", name="diverged") as run:
        run.log_metrics({"loss": float("nan"), "gain": float("inf"), "rmse": 0.5})
        run.log_model(model, input_example=X)
    wb.register_model(run.run_id, "nan-metrics")
    out = registry.export_version(ws, "nan-metrics", tmp_path / "export")
    meta = json.loads((out / "version.json").read_text(), parse_constant=_no_constants)
    assert meta["metrics"] == {"loss": None, "gain": None, "rmse": 0.5}  # old: NaN, Infinity
    sig = json.loads((out / "signature.json").read_text(), parse_constant=_no_constants)
    assert sig["inputs"] == [{"name": "x", "family": "float", "dtype": "float64"}]


# -- issue 14 follow-up: integers beyond 64 bits, text for numbers, sklearn's errors -----------

BEYOND = "Column 'age' holds {}, outside the 64-bit integer range the model was trained on"


def test_integers_beyond_int64_are_refused_never_wrapped(ws: Workspace) -> None:
    launched_model(ws, visits(), "churned", "visits")
    model = wb.load_model("visits")
    rows = visits().drop(columns="churned").head(2).reset_index(drop=True)
    big = {  # old code: 2**63 scored as -2**63, 2**64-1 as -1 (numpy's astype wraps)
        "uint64": pd.Series(np.array([2**63, 30], dtype=np.uint64)),
        "uint64 max": pd.Series(np.array([2**64 - 1, 30], dtype=np.uint64)),
        "Python ints": pd.Series([2**63, 30], dtype=object),
        "Python ints below": pd.Series([-(2**63) - 1, 30], dtype=object),
        "UInt64": pd.Series([2**63, None], dtype="UInt64"),
        "decimals": pd.Series([decimal.Decimal(2**63), decimal.Decimal(30)], dtype=object),
    }
    for label, column in big.items():
        value = int(column.iloc[0])
        with pytest.raises(InvalidInput, match=BEYOND.format(value)):
            model.predict(rows.assign(age=column))
        assert label
    with pytest.raises(InvalidInput, match="too large to arrive exactly as floats"):
        model.predict(rows.assign(age=[2.0**63, 30.0]))
    # in range: scored as the same integers
    inside = rows.assign(age=pd.Series(np.array([64, 30], dtype=np.uint64)))
    np.testing.assert_array_equal(
        model.predict_proba(inside), model.predict_proba(rows.assign(age=[64, 30]))
    )
    with served(ws, "visits") as url:
        for value in (2**63, 2**64 - 1, 2**64, -(2**63) - 1):
            sent = {"age": value, "plan": "pro", "seen": "2024-05-01"}
            status, body, _ = post(url + "/predict", {"rows": [sent]})
            assert status == 400 and BEYOND.format(value) in body["error"], (value, body)


def test_the_float_family_takes_any_integer_without_wrapping() -> None:
    spec = {"name": "x", "family": "float", "dtype": "float64"}
    for column in (
        pd.Series(np.array([2**64 - 1], dtype=np.uint64)),
        pd.Series([2**64 - 1], dtype=object),
        pd.Series([2**64 - 1, None], dtype="UInt64"),
    ):
        assert signature.conform_column(spec, column).iloc[0] == 1.8446744073709552e19
    assert signature.conform_column(spec, pd.Series([-(2**63)], dtype=object)).iloc[0] == -(2.0**63)
    with pytest.raises(InvalidInput, match="Column 'x' holds numbers that do not convert"):
        signature.conform_column(spec, pd.Series([10**400], dtype=object))
    # an unsigned training column takes up to 2**64-1, and refuses negatives
    unsigned = {"name": "n", "family": "integer", "dtype": "uint64"}
    top = signature.conform_column(unsigned, pd.Series([2**64 - 1], dtype=object))
    assert top.dtype == np.uint64 and int(top.iloc[0]) == 2**64 - 1
    with pytest.raises(
        InvalidInput,
        match=r"Column 'n' holds -1, outside the 64-bit integer "
        r"range the model was trained on \(0 to ",
    ):
        signature.conform_column(unsigned, pd.Series([-1, 5]))


def test_rest_reads_numeric_text_as_an_exact_number_and_the_sdk_refuses_text(ws: Workspace) -> None:
    launched_model(ws, visits(), "churned", "visits")
    model = wb.load_model("visits")
    row = pd.DataFrame({"age": [70], "plan": ["pro"], "seen": pd.to_datetime(["2024-05-01"])})
    expected = model.predict_proba(row).round(6).tolist()
    with served(ws, "visits") as url:
        for age in ("70", "7e1", " 70.000 ", 70):  # one rule: exactly 70, a whole number
            sent = {"age": age, "plan": "pro", "seen": "2024-05-01"}
            status, body, _ = post(url + "/predict", {"rows": [sent]})
            assert status == 200 and body["probabilities"] == expected, (age, body)
        mixed = [
            {"age": "70", "plan": "pro", "seen": "2024-05-01"},
            {"age": 70, "plan": "pro", "seen": "2024-05-01"},
        ]
        status, body, _ = post(url + "/predict", {"rows": mixed})
        assert status == 200 and body["probabilities"] == expected * 2, body
        for age, message in (
            ("abc", "Column 'age' holds the text 'abc', which is not a number"),  # old: 'has type'
            ("70.5", "Column 'age' holds Decimal('70.5'), not a whole number"),
            ("sNaN", "Column 'age' holds the text 'sNaN', which is not a number"),
            ("9223372036854775808", BEYOND.format(2**63)),
        ):
            sent = {"age": age, "plan": "pro", "seen": "2024-05-01"}
            status, body, _ = post(url + "/predict", {"rows": [sent]})
            assert status == 400 and message in body["error"], (age, body)
    # the SDK takes DataFrames, whose numbers have numeric dtypes: text is a type error there
    with pytest.raises(InvalidInput, match=r"Column 'age' has type string \(e.g. '30'\)"):
        model.predict(row.assign(age="30"))
    policy = (Path(__file__).parents[1] / "docs" / "types.md").read_text()
    assert "REST: a JSON string that is a number is read as an exact decimal" in policy
    assert "REST only: a JSON string that is" in (signature.__doc__ or "")


def test_sklearn_errors_name_the_columns_and_what_to_do(ws: Workspace) -> None:
    frame = visits()
    X, y = frame[["age", "plan"]], frame["churned"]
    pipe = _pipeline().fit(X, y)  # no imputer
    with wb.start_run(experiment="hand", name="no imputer") as run:
        run.log_model(pipe, input_example=X.head(5))
    wb.register_model(run.run_id, "strict")
    model = wb.load_model("strict")
    gap = X.head(4).assign(age=[30.0, np.nan, 40.0, 50.0])
    message = (
        r"could not score these rows: column 'age' holds missing values .*Impute those "
        r"values or drop those rows.*retrain with an imputer"
    )
    with pytest.raises(InvalidInput, match=message):  # old code: "Input X contains NaN."
        model.predict(gap)
    with pytest.raises(InvalidInput, match="Column 'age' holds \\+inf/-inf"):  # not missing
        model.predict(X.head(4).assign(age=[30.0, np.inf, 40.0, 50.0]))
    with pytest.raises(InvalidInput, match="no rows to score"):  # old: "Found array with 0"
        model.predict(X.head(0))
    with pytest.raises(InvalidInput, match="no rows to score"):
        model.predict_proba(X.head(0))
    with served(ws, "strict") as url:
        status, body, _ = post(url + "/predict", {"rows": [{"age": None, "plan": "pro"}]})
        assert status == 400 and "column 'age' holds missing values" in body["error"], body


def test_decimals_come_back_at_the_column_scale_as_documented(ws: Workspace) -> None:
    frame = pd.DataFrame({"d": [decimal.Decimal("0.1"), decimal.Decimal("1.234")]})
    back = wb.load_dataset(wb.log_dataset(frame, "scaled").ref)["d"].tolist()
    assert [str(v) for v in back] == ["0.100", "1.234"]  # the same values at the column's scale
    assert back == [decimal.Decimal("0.1"), decimal.Decimal("1.234")]
    policy = (Path(__file__).parents[1] / "docs" / "types.md").read_text()
    assert "Decimals come back at the column's scale" in policy


class BrokenAtScoring(BaseEstimator, ClassifierMixin):
    """A user's own estimator with a bug that shows only when scoring."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        raise RuntimeError("lookup table /srv/models/private/table.bin is corrupt")


def test_a_model_that_raises_gets_a_500_with_an_error_id(
    ws: Workspace, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model whose own code raises: HTTP 500 in JSON with an error id, the traceback in
    the server's log under that id (old code: no id, nothing logged); in team mode the body
    says nothing of the exception (its text may hold server paths)."""
    frame = visits()
    X, y = frame[["age", "plan"]], frame["churned"]
    wb.register_model(wb.log_model(BrokenAtScoring().fit(X, y), input_example=X.head(5)), "bug")
    row = {"rows": [{"age": 30, "plan": "basic"}]}
    with served(ws, "bug") as url:
        status, body, _ = post(f"{url}/predict", row)
        assert status == 500 and re.fullmatch("[0-9a-f]{8}", body.get("error_id", "")), body
        assert f"error id {body['error_id']}; RuntimeError: lookup table" in body["error"]
        logged = [r for r in caplog.records if body["error_id"] in r.getMessage()]
        assert logged and logged[0].exc_info and logged[0].name == "workbench.serve"
        monkeypatch.setenv("WORKBENCH_TEAM", "1")
        status, body, _ = post(f"{url}/predict", row)
    assert status == 500 and "RuntimeError" not in body["error"] and "/srv" not in body["error"]
    assert f"error id {body['error_id']}; the server's log has the details" in body["error"]


def test_deeply_nested_json_is_a_bad_request(ws: Workspace) -> None:
    """Issue #16: a 100,000-deep JSON array got HTTP 500 (RecursionError in the parser); a
    value nested 900 deep (within the parser's limit) likewise failed inside scoring."""
    launched_model(ws, visits(), "churned", "visits")
    with served(ws, "visits") as url:
        status, body, _ = post(url + "/predict", b"[" * 100_000 + b"]" * 100_000)
        assert status == 400 and "nests arrays or objects too deeply" in body["error"], body
        deep = "[" * 900 + "1" + "]" * 900
        raw = ('{"rows": [{"age": ' + deep + ', "plan": "pro", "seen": "2024-05-01"}]}').encode()
        status, body, _ = post(url + "/predict", raw)
        assert status == 400, body
        # valid JSON with a 5,000-digit integer: Python's int limit, not "must be JSON"
        raw = ('{"rows": [{"age": 1' + "0" * 5000 + ', "plan": "pro"}]}').encode()
        status, body, _ = post(url + "/predict", raw)
        assert status == 400 and "more than 4,300 digits" in body["error"], body
        status, body, _ = post(
            url + "/predict", {"rows": [{"age": 30, "plan": "pro", "seen": "2024-05-01"}]}
        )
        assert status == 200, body  # the server still answers
