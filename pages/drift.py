"""Drift: compare a current dataset version with a reference, column by column, from the
versions' stored profiles; reports are stored, listed and exported as HTML."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from workbench.drift import report as reports
from workbench.drift import stats as drift
from workbench.drift.config import DEFAULT, parse_rules
from workbench.ui import data, nav
from workbench.ui.widgets import code_text, lazy_tabs, markdown_table, markdown_text, user_errors

st.title("Drift")


TRAINING = "(the model's training data)"
NO_MODEL = "(no model)"


def new_report(ws, refs: list[str]) -> None:

    root, gen = str(ws.root), data.generation()
    models = [f"{m.name}@{a}" for m in data.models(root, gen) for a in sorted(m.aliases)]
    with st.form("new-report"):
        a, b = st.columns(2)
        # By default: the newest version of the dataset registered last, against the one
        # before it (refs list each dataset's versions newest first).
        latest = data.newest_version_ref(root, gen)
        at = refs.index(latest)
        same = at + 1 < len(refs) and refs[at + 1].split("@")[0] == latest.split("@")[0]
        reference = a.selectbox(
            "Reference", [*refs, TRAINING], index=at + 1 if same else min(1, len(refs) - 1)
        )
        current = b.selectbox("Current", refs, index=at)
        c, d = st.columns(2)
        model = c.selectbox(
            "Model (scores both versions: prediction and performance drift)", [NO_MODEL, *models]
        )
        target = d.text_input("Label column", placeholder="default: the one the model learned")
        with st.expander("Per-column rules (override the method and its threshold)"):
            # the CLI's --rule syntax, read by the same parser (the same messages)
            rules = st.text_area(
                "Rules",
                key="drift-rules",
                placeholder="income=psi:0.2\ncustomer_id=ignore",
            )
            st.caption(DEFAULT.rules_help())
        if st.form_submit_button("Run the report", type="primary", icon=":material/play_arrow:"):
            with user_errors(), st.spinner("Comparing…"):
                report = reports.run_report(
                    ws,
                    None if reference == TRAINING else reference,
                    current,
                    model=None if model == NO_MODEL else model,
                    target=target.strip() or None,
                    overrides=parse_rules(rules.splitlines()),
                )
                st.session_state["report"] = report.report_id
                # Shown while this report stays selected (a popped flash can be consumed by a
                # rerun before the browser draws it).
                st.session_state["made_report"] = (
                    report.report_id,
                    (
                        f"Report stored: {report.verdict}, "
                        f"{reports.summary(report.n_drifted, report.n_columns)}."
                    ),
                )
                st.rerun()


def show(ws, report, found) -> None:
    """One report: its verdict and top drifting columns, then lazy tabs (only the open
    one is drawn, as in MLflow's run page): Columns (the per-column table and one
    column's distributions), Model (performance and prediction drift, and the retrain
    form, when the report has a model or a champion learned on the reference) and
    History (a model's drift across dataset versions)."""
    icon = (
        ":red[:material/warning:]"
        if report.verdict == "drift"
        else (
            ":green[:material/check_circle:]"
            if report.verdict == "no drift"
            else ":orange[:material/help:]"
        )
    )
    st.subheader(f"{icon} {report.verdict}: {report.current_ref} against {report.reference_ref}")
    m = st.columns(2)
    m[0].metric("Columns drifted", f"{report.n_drifted} of {report.n_columns}")
    m[1].metric("Made", f"{report.created_at:%Y-%m-%d %H:%M}")
    section = reports.model_section(report)
    if section is not None:  # a model can degrade while every column holds (a concept change)
        mark = (
            ":green[:material/check_circle:]"
            if section.verdict == "stable"
            else (":red[:material/warning:]")
        )
        st.markdown(
            f"{mark} **Model** `{section.model_ref}`: {section.verdict} (the Model tab "
            "has the detail)"
        )
    # the top columns as text that wraps (a metric card cut long names off with "…")
    top = [r for r in report.results if r.drifted][:3]
    st.markdown("**Top drifting**: " + (", ".join(code_text(r.column) for r in top) or "none"))
    for r in top:
        st.markdown(f"- {markdown_text(r.sentence)}")
    panels = {"Columns": lambda: columns_panel(ws, report)}
    candidates = retrain_candidates(ws, report, section)
    if section is not None or candidates:

        def model_tab() -> None:
            model_panel(report, section)
            retrain_panel(report, candidates)

        panels["Model"] = model_tab
    if any(r.model_ref for r in found):
        panels["History"] = lambda: history_panel(ws, found)
    if len(panels) > 1:
        lazy_tabs(panels, key=f"drift-tabs-{report.report_id}")
    else:  # a lone tab would only add a click's worth of chrome
        columns_panel(ws, report)
    st.download_button(
        "Export as HTML",
        data=lambda: _html(ws, report.report_id),
        file_name=f"drift-{report.current_ref.replace('@', '-')}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        key=f"export-{report.report_id}",
    )


def columns_panel(ws, report) -> None:
    """Every column's verdict, then one column's distributions and statistics."""
    table = pd.DataFrame(
        [
            {
                "column": r.shown_column,
                "verdict": r.verdict,
                # a column not tested (identifier-like, ignored): blank, shown as "—"
                "effect": r.shown_effect,
                "method": r.shown_method,
                "p-value": drift.format_p(r.p_value) if r.tested else None,
                "n ref": r.n_reference,
                "n cur": r.n_current,
                "what changed": r.sentence,
            }
            for r in report.results
        ]
    )
    formats = {
        "p-value": st.column_config.TextColumn(
            help="smallest p-value of the column's tests, before Benjamini-Hochberg"
        ),
        "effect": st.column_config.NumberColumn(format="%.4f"),
        "what changed": st.column_config.TextColumn(width="large"),
    }
    event = st.dataframe(
        table,
        hide_index=True,
        key=f"drift-table-{report.report_id}",
        column_config=formats,
        placeholder="—",
        on_select="rerun",
        selection_mode="single-row",
    )
    with st.expander("How a verdict is reached"):
        # the rule this report ran with, from its stored configuration
        if report.rule_note:
            st.caption(report.rule_note)
        st.markdown(markdown_text(report.config.rule()))
    picked = [i for i in event.selection.rows if i < len(report.results)]
    detail = report.results[picked[0]] if picked else None
    if detail is None or detail.kind in ("schema", "ignored"):
        # a chart costs the browser about 0.2 s to mount: drawn when asked for
        st.caption("Select a column's row to see its distributions and statistics.")
        return
    name = detail.column
    root, gen = str(ws.root), data.generation()
    ref_p, cur_p = (
        {p.name: p for p in data.dataset_profile(root, gen, data.dataset_version(root, gen, ref))}
        for ref in (report.reference_ref, report.current_ref)
    )
    st.plotly_chart(
        data.distribution_figure(ref_p[name], cur_p[name]),
        key=f"drift-fig-{report.report_id}-{name}",
    )
    st.markdown(
        markdown_table(["statistic", "value"], [(k, _stat(k, v)) for k, v in detail.stats.items()])
    )


def binary_cards(perf) -> None:
    """A binary classifier's ranking quality and base rate, reference -> current: accuracy
    moves with the share of the positive class even when the model ranks as well as before."""
    cards = []
    if perf.auc_reference is not None and perf.auc_current is not None:
        cards.append(
            (
                "ROC AUC",
                f"{perf.auc_reference:.3f} → {perf.auc_current:.3f}",
                "Threshold-free: how well the model ranks positives above negatives "
                "(0.5 is chance), reference → current",
            )
        )
    if perf.base_rate_reference is not None and perf.base_rate_current is not None:
        cards.append(
            (
                f"Share of {perf.positive}",
                f"{perf.base_rate_reference:.1%} → {perf.base_rate_current:.1%}",
                f"The label's base rate: rows labelled {perf.positive}, reference → "
                "current. Accuracy moves with it even when the ranking holds.",
            )
        )
    if not cards:
        return
    for column, (label, value, help_text) in zip(st.columns(3), cards, strict=False):
        column.metric(label, value, help=help_text)


def model_panel(report, section) -> None:
    """The model's performance and prediction drift (``section``: the report's model
    section, or None for a report without a model)."""
    if section is None:
        return
    st.subheader(f"Model {section.model_ref}: {section.verdict}")
    perf = section.performance
    if perf is not None:
        m = st.columns(3)
        (r_lo, r_hi), (c_lo, c_hi) = perf.reference_interval, perf.current_interval
        # short labels (a metric card cuts long ones off): the metric is named above
        st.markdown(f"**Performance** ({perf.metric})")
        m[0].metric(
            "Reference",
            f"{perf.reference:.4f}",
            help=f"95% interval [{r_lo:.4f}, {r_hi:.4f}] on {perf.n_reference:,} rows",
        )
        m[1].metric(
            "Current",
            f"{perf.current:.4f}",
            delta=f"{perf.current - perf.reference:+.4f}",
            delta_color="normal" if perf.higher_is_better else "inverse",
            help=f"95% interval [{c_lo:.4f}, {c_hi:.4f}] on {perf.n_current:,} rows",
        )
        m[2].metric("Verdict", perf.verdict)
        binary_cards(perf)
        st.caption(f"{perf.sentence}. {report.config.model_rule()}")
    if section.note:
        st.info(section.note)
    if (label := report.label) is not None:
        st.markdown(
            f"**Label** {code_text(label.column)} (apart from the features): "
            f"{label.verdict}. {markdown_text(label.sentence)}"
        )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "prediction": p.column,
                    "verdict": p.verdict,
                    "effect": p.shown_effect,
                    "p-value": drift.format_p(p.p_value) if p.tested else None,
                    "what changed": p.sentence,
                }
                for p in section.predictions
            ]
        ),
        hide_index=True,
        key=f"drift-pred-{report.report_id}",
        placeholder="—",
    )
    if section.profiles:
        name = st.selectbox(
            "Prediction", list(section.profiles), key=f"drift-pred-col-{report.report_id}"
        )
        st.plotly_chart(
            data.distribution_figure(*section.profiles[name]),
            key=f"drift-pred-fig-{report.report_id}-{name}",
        )


def history_panel(ws, found) -> None:
    models = sorted({r.model_ref.split("/")[0] for r in found if r.model_ref})
    if not models:
        return
    st.subheader("A model's drift across dataset versions")
    model = st.selectbox("Model", models, key="drift-history-model")
    timeline = data.drift_history(str(ws.root), data.generation(), model)
    st.plotly_chart(data.history_figure(timeline), key=f"drift-history-{model}")
    st.dataframe(
        timeline[
            [
                "created_at",
                "current",
                "reference",
                "model_version",
                "verdict",
                "drift_share",
                "model_verdict",
                "metric",
                "score",
            ]
        ],
        hide_index=True,
        key=f"drift-history-table-{model}",
    )


def retrain_candidates(ws, report, section) -> list:
    """(model name, champion version) of each model whose champion learned on a version of
    the report's reference dataset; none when neither the columns nor the model (its
    ``section``) drifted: a concept change degrades a model while every column holds."""
    if report.verdict == "no drift" and (section is None or section.verdict == "stable"):
        return []
    name = report.reference_ref.split("@")[0]
    candidates = []
    root, gen = str(ws.root), data.generation()
    for m in data.models(root, gen):
        if "champion" in m.aliases:
            champion = data.champion_version(root, gen, m.name)
            if (champion.dataset_ref or "").split("@")[0] == name:
                candidates.append((m.name, champion))
    return candidates


def retrain_panel(report, candidates: list) -> None:
    """The loop from a report: retrain a model whose champion learned on the reference."""
    from workbench.drift import monitoring

    if not candidates:
        return
    ws = data.workspace()
    root, gen = str(ws.root), data.generation()
    with st.form(f"retrain-{report.report_id}"):
        st.markdown(
            "**Retrain challenger** on the current data with the champion's spec, then "
            "compare through the promotion gate."
        )
        a, b = st.columns(2)
        model = a.selectbox("Model", [c[0] for c in candidates])
        columns = [
            p.name
            for p in data.dataset_profile(
                root, gen, data.dataset_version(root, gen, report.current_ref)
            )
        ]
        target = b.selectbox("Label column", columns, index=len(columns) - 1)
        if st.form_submit_button("Retrain challenger", icon=":material/model_training:"):
            with user_errors(), st.spinner("Retraining and comparing…"):
                out = monitoring.retrain(ws, model, report.current_ref, target, report.report_id)
                verdict = (
                    "the gate allows promotion"
                    if out["gate"]
                    else ("the gate refuses: " + "; ".join(out["reasons"]))
                )
                st.success(
                    f"{out['challenger']} is the challenger ({out['challenger_score']:.4f} "
                    f"vs champion {out['champion_score']:.4f}); {verdict}. Promote it on "
                    "the Models page."
                )


def _stat(key: str, value) -> str:
    """A column's statistic as text: p-values (keys p_...) by drift.format_p, numbers to 4
    significant digits, anything else as it is."""
    if key.startswith("p_") and (value is None or isinstance(value, float | int)):
        return drift.format_p(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _html(ws, report_id: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return reports.export_html(ws, report_id, Path(tmp) / "report.html").read_bytes()


with user_errors():
    ws = data.workspace()
    refs = data.version_refs(str(ws.root), data.generation())
    if len(refs) < 2:
        st.info(
            "A drift report compares two dataset versions; register at least two on the "
            "Datasets page."
        )
        st.stop()
    confirmation = st.empty()  # filled once the selected report is known
    found = data.drift_reports(str(ws.root), data.generation())
    # A toggle, not an expander (a collapsed expander still builds every widget of its
    # form); open while there is no report yet, then as the user leaves it.
    st.session_state.setdefault("new_report_open", not found)
    if st.toggle("New report", key="new_report_open"):
        with st.container(border=True):
            new_report(ws, refs)
    if not found:
        st.caption("No report yet: pick a reference and a current version above.")
        st.stop()
    ids = [r.report_id for r in found]
    # A deep link (Start here: /drift?current=churn@v4&reference=churn@v1) opens the newest
    # report of that pair, once; a report the user picks afterwards wins.
    nav.take_query_param("current", "drift_link_current")
    nav.take_query_param("reference", "drift_link_reference")
    pair = (
        st.session_state.pop("drift_link_current", None),
        st.session_state.pop("drift_link_reference", None),
    )
    linked = [r.report_id for r in found if (r.current_ref, r.reference_ref) == pair]
    if linked:
        st.session_state["report"] = linked[0]
    wanted = st.session_state.get("report")
    chosen = st.selectbox(
        "Report",
        ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda i: (
            lambda r: (
                f"{r.created_at:%Y-%m-%d %H:%M} · {r.current_ref} vs "
                f"{r.reference_ref} · {r.verdict}"
            )
        )(found[ids.index(i)]),
    )
    st.session_state["report"] = chosen
    made = st.session_state.get("made_report")
    if made and made[0] == chosen:
        confirmation.success(made[1], icon=":material/check_circle:")
    show(ws, found[ids.index(chosen)], found)
