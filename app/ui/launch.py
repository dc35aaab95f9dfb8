"""The launch form: dataset version, target, features, task, estimator with a form generated
from its parameters, validation, and an optional sweep."""

from __future__ import annotations

from typing import Any

import streamlit as st

from workbench.training import catalogue, launch_defaults, runner
from workbench.training.task import RunSpec
from workbench.ui import data
from workbench.ui.widgets import user_errors


def launch_form(experiment_default: str) -> None:
    """Draw the launch form on the current page: dataset version (starting on the one this
    experiment's newest run used), target, features, task (detected from the target by
    ``launch_defaults.task_of`` again whenever the version or the target changes; the user's
    choice stays while both do), estimator and its hyperparameters
    (defaults from scikit-learn), validation, seed, workers, the experiment name (starting on
    ``experiment_default``) and an optional grid or random sweep. On "Launch" it calls
    ``workbench.training.runner.launch`` and reruns the page with a flash message
    (``st.session_state["flash"]``) and the launched experiment selected. A WorkbenchError (bad
    input, no permission) is shown as an error on the page and nothing is launched. With no
    dataset registered it shows a hint and draws nothing else. Returns nothing."""
    ws = data.workspace()
    root, gen = str(ws.root), data.generation()
    found = data.dataset_list(root, gen)
    if not found:
        st.info("Register a dataset on the Datasets page first; runs train on a dataset version.")
        return
    versions = data.all_dataset_versions(root, gen)
    refs = [v.ref for v in versions]
    start = launch_defaults.default_dataset(ws, experiment_default, versions)
    a, b = st.columns(2)
    ref = a.selectbox(
        "Dataset version",
        refs,
        index=refs.index(start) if start in refs else 0,
        key="launch_dataset",
        help="Starts on the version this experiment's newest run used.",
    )
    version = next(v for v in versions if v.ref == ref)
    profile = data.dataset_profile(root, gen, version)
    names = [p.name for p in profile]
    defaults = launch_defaults.column_defaults(profile)
    # Keyed by the version (and the target): another version or target starts on its own
    # defaults instead of keeping a choice made for different columns.
    target = b.selectbox(
        "Target column",
        names,
        index=names.index(defaults.target),
        key=f"launch_target-{ref}",
        help="Starts on a column named like a label, else the last plausible "
        "label (not an identifier, a date or a year).",
    )
    target_profile = profile[names.index(target)]
    column_defaults = launch_defaults.column_defaults_for(profile, target)
    features = st.multiselect(
        "Features",
        [n for n in names if n != target],
        default=list(column_defaults.features),
        help="None ticked: every column but the target.",
        key=f"launch_features-{ref}-{target}",
    )
    if column_defaults.left_out:
        st.caption(column_defaults.note())
    c, d = st.columns(2)
    detected = launch_defaults.task_of(target_profile)  # the rule the runner applies too
    # Keyed by the version and the target like the features: a radio keeps its value across
    # reruns whatever its index says, so under one fixed key the task detected for the first
    # target stuck to every other (a float target trained as a 2,000-class classifier). A
    # choice the user makes stays while the version and the target do.
    task = c.radio(
        "Task",
        catalogue.TASKS,
        index=catalogue.TASKS.index(detected),
        horizontal=True,
        help=f"Detected from {target}: {detected} ({launch_defaults.TASK_RULE}).",
        key=f"launch_task-{ref}-{target}",
    )
    choices = catalogue.for_task(task)
    estimator = d.selectbox(
        "Estimator",
        [e.key for e in choices],
        key="launch_estimator",
        index=next((i for i, e in enumerate(choices) if e.key == "random_forest"), 0),
        format_func=lambda k: catalogue.get(k).title,
    )
    specs = catalogue.param_specs(estimator, task)
    params = _param_fields(specs, f"{estimator}-{task}")
    e, f, g, h = st.columns(4)
    validation = e.radio("Validation", ["holdout", "kfold"], horizontal=True, key="launch_val")
    test_size = f.slider(
        "Test share", 0.1, 0.5, 0.25, 0.05, key="launch_test_size", disabled=validation != "holdout"
    )
    folds = g.number_input("Folds", 2, 20, 5, key="launch_folds", disabled=validation != "kfold")
    seed = h.number_input("Seed", 0, 2**31 - 1, 0, key="launch_seed")
    sweep = _sweep_fields(specs, f"{estimator}-{task}")
    i, j = st.columns([3, 1])
    experiment = i.text_input("Experiment", value=experiment_default, key="launch_experiment")
    workers = j.number_input(
        "Workers",
        1,
        16,
        2,
        key="launch_workers",
        help="Training processes at once (WORKBENCH_WORKERS).",
    )
    label = "Launch sweep" if sweep else "Launch run"
    if not st.button(label, type="primary", icon=":material/rocket_launch:", key="launch_go"):
        return
    spec = RunSpec(
        ref,
        target,
        estimator,
        tuple(features),
        task,
        params,
        validation,
        float(test_size),
        int(folds),
        int(seed),
    )
    with user_errors():
        launched = runner.launch(
            ws, spec, experiment=experiment.strip() or "Default", sweep=sweep, workers=int(workers)
        )
        n = len(launched.run_ids)
        st.session_state["flash"] = (
            f"Launched a sweep of {n} trials in {launched.experiment}; they appear below as "
            "they run."
            if launched.parent_run_id is not None
            else f"Launched a run in {launched.experiment}; it appears below as it runs."
        )
        st.session_state["pending_experiment"] = launched.experiment  # set before the selector
        st.session_state["pending_launch_close"] = True  # the form closes: the runs show
        st.rerun()


def _param_fields(specs: list[catalogue.ParamSpec], scope: str) -> dict[str, Any]:
    if not specs:
        st.caption("This estimator has no hyperparameters to set.")
        return {}
    st.markdown("**Hyperparameters** (defaults from scikit-learn)")
    values: dict[str, Any] = {}
    cols = st.columns(min(len(specs), 4))
    for k, spec in enumerate(specs):
        col = cols[k % len(cols)]
        key = f"hp-{scope}-{spec.name}"
        if spec.kind == "bool":
            values[spec.name] = col.checkbox(spec.name, value=bool(spec.default), key=key)
        elif spec.kind == "choice":
            options = list(spec.choices)
            values[spec.name] = col.selectbox(
                spec.name,
                options,
                key=key,
                index=options.index(spec.default) if spec.default in options else 0,
            )
        else:
            shown = "" if spec.default is None else str(spec.default)
            text = col.text_input(
                spec.name,
                value=shown,
                key=key,
                help=f"{spec.kind}" + (", empty for none" if spec.nullable else ""),
            )
            values[spec.name] = text
    return values


def _sweep_fields(specs: list[catalogue.ParamSpec], scope: str) -> runner.SweepSpec | None:
    tunable = [s for s in specs if s.kind in ("int", "float", "choice", "bool")]
    if not tunable or not st.toggle("Sweep", key=f"sweep-on-{scope}"):
        return None
    a, b = st.columns([1, 3])
    method = a.radio("Search", ["random", "grid"], key=f"sweep-method-{scope}")
    vary = b.multiselect(
        "Vary", [s.name for s in tunable], default=[tunable[0].name], key=f"sweep-vary-{scope}"
    )
    trials = a.number_input(
        "Trials", 1, runner.max_trials(), 6, key=f"sweep-trials-{scope}", disabled=method == "grid"
    )
    space: dict[str, Any] = {}
    for spec in (s for s in tunable if s.name in vary):
        key = f"sweep-{scope}-{spec.name}"
        if method == "random" and spec.kind in ("int", "float"):
            lo, hi = st.columns(2)
            space[spec.name] = {
                "low": lo.number_input(
                    f"{spec.name} from", value=float(spec.low or 0), key=key + "-lo"
                ),
                "high": hi.number_input(
                    f"{spec.name} to", value=float(spec.high or 1), key=key + "-hi"
                ),
                "log": spec.log,
            }
        else:
            default = (
                ", ".join(map(str, spec.choices))
                if spec.choices
                else ("true, false" if spec.kind == "bool" else _grid_default(spec))
            )
            text = st.text_input(f"{spec.name} values (comma-separated)", value=default, key=key)
            space[spec.name] = [v.strip() for v in text.split(",") if v.strip()]
    return runner.SweepSpec(method, space, int(trials))


def _grid_default(spec: catalogue.ParamSpec) -> str:
    if spec.low is None or spec.high is None:
        return str(spec.default)
    if spec.kind == "int":
        return ", ".join(str(int(v)) for v in (spec.low, (spec.low + spec.high) // 2, spec.high))
    return ", ".join(
        f"{v:g}"
        for v in (
            spec.low,
            (spec.low * spec.high) ** 0.5 if spec.log else (spec.low + spec.high) / 2,
            spec.high,
        )
    )
