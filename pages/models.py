"""Models: register run models, move aliases (with history and rollback), read and edit
model cards, follow lineage, compare versions, champion versus challenger and promotion,
batch scoring."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from workbench.datasets import versions as datasets
from workbench.drift import monitoring
from workbench.drift.stats import p_clause
from workbench.registry import models as registry
from workbench.registry import promotion, signature
from workbench.store.entities import Model, ModelVersion
from workbench.store.errors import InvalidInput, PermissionDenied
from workbench.team import auth
from workbench.ui import data
from workbench.ui.widgets import flash_scope, lazy_tabs, markdown_table, user_errors, utc_cell

ALIAS_HISTORY_SHOWN = 10  # the newest moves drawn on the page; the rest in a popover

st.title("Models")


def register_form(ws, names: list[str]) -> None:
    """The form that registers a finished run's model as a new version of a model."""
    runs = data.registrable_runs(str(ws.root), data.generation())
    if not runs:
        st.caption(
            "No finished run has logged a model yet: launch one on the Experiments page "
            "(or use wb.autolog()), then register it here."
        )
        return
    with st.form("register-model", clear_on_submit=True):
        a, b = st.columns([3, 2])
        run_id = a.selectbox("Run", [r[0] for r in runs], format_func=dict(runs).get)
        name = b.text_input(
            "Model name", value=names[0] if names else "", placeholder="churn-classifier"
        )
        if st.form_submit_button("Register model", icon=":material/add_box:", type="primary"):
            with user_errors():
                version = registry.register_model(ws, run_id, name.strip())
                st.session_state["model"] = version.model_name
                st.session_state["flash"] = f"Registered {version.ref}."
                st.rerun()


def versions_table(versions: list[ModelVersion]) -> pd.DataFrame:
    """One display row per version, with the headline metrics any of them logged."""
    keys = registry.headline_metrics(versions)
    return pd.DataFrame(
        [
            {
                "version": v.ref,
                "aliases": ", ".join(v.aliases),
                "dataset": v.dataset_ref,
                **{k: v.metrics.get(k) for k in keys},
                "run": v.run_id[:12],
                "created": v.created_at,
                "by": v.created_by,
                "sha256": v.sha256[:12],
            }
            for v in versions
        ]
    )


def aliases_panel(ws, model: Model, versions: list[ModelVersion]) -> None:
    """The aliases with a rollback each, the form that moves one (in a popover: the browser
    mounts its widgets only when it is opened), and the aliases' history."""
    with st.popover("Move an alias", icon=":material/label:"):
        alias_form(ws, model, versions)
    for alias, version in model.aliases.items():
        cols = st.columns([2, 2])
        cols[0].markdown(f"**@{alias}** → v{version}")
        if cols[1].button(
            f"Roll back @{alias}", key=f"rollback-{model.name}-{alias}", icon=":material/undo:"
        ):
            with user_errors():
                back = registry.rollback(ws, model.name, alias)
                st.session_state["flash"] = f"{model.name}@{alias} rolled back to v{back}."
                st.rerun()
    history = data.alias_history(str(ws.root), data.generation(), model.name)
    if history:
        st.markdown("**Alias history**")
        columns = ["when (UTC)", "alias", "from", "to", "who", "reason"]
        rows = [
            (
                e.moved_at,
                e.alias,
                e.from_version,
                e.to_version,
                e.actor,
                e.reason,
            )
            for e in history
        ]
        # A markdown table: a data grid costs each browser ~0.08 CPU-s to mount on every
        # visit (bench/bench_pages.py); the whole history is one click away, in a popover
        # that mounts nothing until it is opened.
        newest = [(utc_cell(row[0]), *row[1:]) for row in rows[:ALIAS_HISTORY_SHOWN]]
        st.markdown(markdown_table(columns, newest))
        if len(rows) > ALIAS_HISTORY_SHOWN:
            with st.popover(f"All {len(rows):,} moves", icon=":material/history:"):
                st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True)


def alias_form(ws, model: Model, versions: list[ModelVersion]) -> None:
    """The form that points an alias at a version (an admin may override the gate)."""
    numbers = [v.version for v in versions]
    admin = auth.allows(ws, "admin")
    with st.form(f"alias-{model.name}"):
        a, b = st.columns(2)
        alias = a.text_input("Alias", value="challenger")
        version = b.selectbox("Version", numbers)
        reason = st.text_input("Reason", placeholder="why this move")
        override = False
        if admin:
            override = st.checkbox(
                "Override the promotion gate",
                key=f"alias-override-{model.name}",
                help="Only for champion: move it to a version that has not passed the gate "
                "(see Champion vs challenger). Needs a reason; the audit log records the "
                "override and the waived checks.",
            )
        else:
            st.caption("Moving champion needs an admin: the promotion gate guards it.")
        if st.form_submit_button("Move alias", icon=":material/label:"):
            with user_errors():
                target = alias.strip()
                try:
                    before = registry.set_alias(
                        ws, model.name, target, int(version), reason=reason, override=override
                    )
                except PermissionDenied as exc:
                    if target != registry.PROTECTED_ALIAS:
                        raise
                    raise PermissionDenied(
                        f"Only an admin can move {model.name}@{target}: the promotion gate "
                        "guards it. Promotion goes through the gate (Champion vs challenger), "
                        "and an admin may override the gate with a reason. Ask an admin."
                    ) from exc
                was = f" (was v{before})" if before is not None else ""
                st.session_state["flash"] = f"{model.name}@{target} → v{version}{was}."
                st.rerun()


def card_tab(ws, version: ModelVersion) -> None:
    """The version's model card as markdown, a download of it as a page (HTML, escaped),
    and the form that edits it."""
    st.markdown(version.card)  # markdown only: HTML in a card is shown as text, never run
    st.download_button(
        "Download the card (HTML)",
        data=lambda: registry.card_html(ws, version.ref),
        file_name=f"{version.model_name}-v{version.version}-card.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        key=f"card-html-{version.ref}",
    )
    with st.form(f"card-{version.ref}"):
        text = st.text_area("Edit the model card (markdown)", value=version.card, height=300)
        if st.form_submit_button("Save card", icon=":material/save:"):
            with user_errors():
                registry.update_card(ws, version.ref, text)
                st.session_state["flash"] = f"Saved the card of {version.ref}."
                st.rerun()


LINEAGE_COLORS = {"dataset version": "#1f77b4", "run": "#ff7f0e", "model version": "#2ca02c"}


def lineage_tab(ws, model: Model) -> None:
    """Dataset versions, runs, model versions and prediction versions as a Sankey chart."""
    nodes, edges = data.lineage(str(ws.root), data.generation(), model.name)
    if not edges:
        st.caption("No lineage yet.")
        return
    index = {n: i for i, n in enumerate(nodes)}
    color = [LINEAGE_COLORS[registry.lineage_kind(n)] for n in nodes]
    fig = go.Figure(
        go.Sankey(
            node={"label": nodes, "color": color, "pad": 18, "thickness": 14},
            link={
                "source": [index[a] for a, _ in edges],
                "target": [index[b] for _, b in edges],
                "value": [1] * len(edges),
            },
        )
    )
    fig.update_layout(height=max(260, 40 * len(nodes)), margin={"t": 20, "b": 20, "l": 10, "r": 10})
    st.caption("dataset version → run → model version → prediction dataset versions")
    st.plotly_chart(fig, key=f"lineage-{model.name}")


def compare_versions_tab(versions: list[ModelVersion]) -> None:
    """Two versions' metrics side by side, and whether their signatures are compatible."""
    if len(versions) < 2:
        st.info("Register a second version to compare.")
        return
    refs = [v.ref for v in versions]
    a, b = st.columns(2)
    left = versions[refs.index(a.selectbox("Version A", refs, index=1, key="cmpv-a"))]
    right = versions[refs.index(b.selectbox("Version B", refs, index=0, key="cmpv-b"))]
    keys = registry.compared_metrics(left, right)
    st.dataframe(
        pd.DataFrame(
            {
                "metric": keys,
                left.ref: [left.metrics.get(k) for k in keys],
                right.ref: [right.metrics.get(k) for k in keys],
            }
        ),
        hide_index=True,
    )
    ok, why = signature.compatible(left.signature, right.signature)
    (st.success if ok else st.warning)(f"Signatures: {why}.")


def champion_tab(ws, model: Model, versions: list[ModelVersion]) -> None:
    """Champion against challenger on a labelled dataset version, the promotion gate's
    checks, and the promote (or override) panel."""
    if not {"champion", "challenger"} <= set(model.aliases):
        if "challenger" in model.aliases and st.button(
            "Make the challenger champion", key="first-champion"
        ):
            with user_errors():
                registry.set_alias(
                    ws, model.name, "champion", model.aliases["challenger"], reason="first champion"
                )
                st.rerun()
        st.info("Point the aliases 'champion' and 'challenger' at two versions to compare them.")
        return
    if model.aliases["champion"] == model.aliases["challenger"]:  # e.g. after a promotion
        st.info(promotion.same_version(model.name, model.aliases["champion"]))
        return
    # The default: a labelled version neither model was trained on (lineage decides).
    choice = data.evaluation_choice(str(ws.root), data.generation(), model.name)
    others = data.version_refs(str(ws.root), data.generation())
    refs = list(dict.fromkeys([*choice.candidates, *others]))
    a, b, c = st.columns(3)
    dataset = a.selectbox(
        "Labelled dataset version",
        refs,
        key="cc-dataset",
        index=refs.index(choice.default) if choice.default in refs else 0,
        help="First the versions with the models' inputs and labels, "
        "newest first; the default is one neither model was trained "
        "on.",
    )
    columns = [
        p.name
        for p in data.dataset_profile(
            str(ws.root), data.generation(), datasets.get_version(ws, dataset)
        )
    ]
    # The model's label column, never a guess: a version without it (or a model that records
    # none) leaves the choice to the user, and says why.
    target = b.selectbox(
        "Label column",
        columns,
        key="cc-target",
        index=columns.index(choice.target) if choice.target in columns else None,
        placeholder="Choose the label column",
    )
    segment = c.selectbox("Segment by", ["(none)", *columns], key="cc-segment")
    if target is None:
        st.info(_no_label(choice.target, dataset, columns), icon=":material/info:")
        return
    d, e = st.columns(2)  # the checks stacked: four abreast, their labels were cut off
    config = promotion.GateConfig(
        margin=d.number_input("Margin", 0.0, 1.0, 0.0, 0.005, format="%.3f", key="cc-margin"),
        require_significant=e.checkbox("Significant", value=True, key="cc-sig"),
        require_contract=e.checkbox("Contract passes", value=True, key="cc-contract"),
        require_signature=e.checkbox("Signature compatible", value=True, key="cc-signature"),
    )
    result = data.comparison(
        str(ws.root),
        data.generation(),
        model.name,
        dataset,
        target,
        None if segment == "(none)" else segment,
    )
    # Short labels and values: a card a third of this column wide cuts longer ones off.
    m = st.columns(2)
    m[0].metric(
        f"Champion v{result.champion.rsplit('/', 1)[-1]}",
        f"{result.champion_score:.4f}",
        help=f"{result.champion}: {result.metric} on {result.dataset}",
    )
    m[1].metric(
        f"Challenger v{result.challenger.rsplit('/', 1)[-1]}",
        f"{result.challenger_score:.4f}",
        f"{result.difference:+.4f}",
        delta_color="normal" if result.higher_is_better else "inverse",
        help=f"{result.challenger}: {result.metric} on {result.dataset}",
    )
    lo, hi = result.interval
    st.caption(
        f"{result.metric}, challenger minus champion: {result.difference:+.4f}, 95% "
        f"interval [{lo:+.4f}, {hi:+.4f}] (paired bootstrap over the same rows, 1,000 "
        "resamples)"
    )
    if not result.rows_unseen:  # training rows, or a model's training data unknown
        st.warning(result.data_note, icon=":material/warning:")
    elif result.data_note:
        st.caption(result.data_note)
    if result.label_note:
        st.caption(result.label_note)
    if result.mcnemar_p is not None:
        st.caption(
            f"McNemar's exact test on the rows where only one model is right: "
            f"{p_clause(result.mcnemar_p)} · {result.n_rows:,} labelled rows"
        )
    if not result.segments.empty:
        st.dataframe(result.segments, hide_index=True, key="cc-segments")
    verdict = promotion.gate(result, config)
    full = promotion.gate(result, promotion.full_config(config))  # nothing waived
    for name, ok, detail in verdict.checks:
        st.markdown(
            f"{':green[:material/check_circle:]' if ok else ':red[:material/cancel:]'} "
            f"**{name}**: {detail}"
        )
    shown = {name for name, _, _ in verdict.checks}
    for name, ok, detail in full.checks:
        if not ok and name not in shown:  # an unticked check that fails: a waiver
            st.markdown(
                f":orange[:material/do_not_disturb_on:] **{name}** (unticked, so waived): {detail}"
            )
    promote_panel(ws, model, result, dataset, target, config, full)


def _no_label(target: str | None, dataset: str, columns: list[str]) -> str:
    """Why the Champion vs challenger tab shows no comparison yet: ``dataset`` has no column
    ``target`` (the models' label column; the sentence the CLI gives), or the models record
    none (no launch spec): choose the label column."""
    if target is None:
        return (
            "The models record no label column (logged from code, without a launch spec): "
            "choose the column they were trained to predict."
        )
    try:
        signature.require_label_column(target, {dataset: columns})
    except InvalidInput as exc:
        return f"{exc} Choose another version, or the column that holds these labels."
    return ""


def promote_panel(ws, model: Model, result, dataset: str, target: str, config, full) -> None:
    """Promote when the gate (nothing waived) allows it. When it refuses, an admin may
    override it with a reason (recorded with every waived check); anyone else is told
    that only an admin can."""
    admin = auth.allows(ws, "admin")
    override, reason = False, ""
    if not full.allowed:
        waived = ", ".join(name for name, ok, _ in full.checks if not ok)  # listed above
        if admin:
            st.warning(
                f"The gate refuses this promotion (failing: {waived}). An admin may "
                "override it with a reason; the audit log records the override and "
                "every waived check.",
                icon=":material/gpp_maybe:",
            )
            override = st.checkbox("Override the gate", key="cc-override")
            reason = st.text_input(
                "Reason for the override",
                key="cc-override-reason",
                disabled=not override,
                placeholder="why these checks may be waived",
            )
        else:
            st.warning(
                "The gate refuses this promotion, and only an admin can override it "
                f"(with a reason, recorded in the audit log). Failing: {waived}.",
                icon=":material/block:",
            )
    elif not admin:
        st.caption("The gate allows it; promoting needs an admin.")
    ready = admin and (full.allowed or (override and bool(reason.strip())))
    label = (
        "Promote the challenger to champion" if full.allowed else "Override the gate and promote"
    )
    why = None
    if not ready:
        why = (
            "Promoting needs an admin."
            if not admin
            else "Tick 'Override the gate' and give a reason."
        )
    if st.button(
        label,
        type="primary",
        disabled=not ready,
        icon=":material/military_tech:",
        key="promote",
        help=why,
    ):
        with user_errors():
            final = promotion.promote(
                ws, model.name, dataset, target, config=config, override=override, reason=reason
            )
            if final.moved:
                how = "" if final.allowed else f" by override (waived: {'; '.join(final.reasons)})"
                st.session_state["flash"] = f"Promoted {result.challenger} to champion{how}."
                st.rerun()
            st.error(f"The gate refuses: {'; '.join(final.reasons)}. Champion did not move.")


def score_tab(ws, version: ModelVersion) -> None:
    """Score a dataset version with this model version (registers the predictions)."""
    refs = data.version_refs(str(ws.root), data.generation(), predictions=False)
    dataset = st.selectbox("Dataset version to score", refs, key=f"score-{version.ref}")
    if st.button(f"Score with {version.ref}", icon=":material/play_arrow:", key="score-go"):
        with user_errors(), st.spinner("Scoring…"):
            result = registry.score(ws, version.ref, dataset)
            st.session_state["flash"] = result.message
            st.rerun()


def monitor_tab(ws, model: Model) -> None:
    """A monitor: new versions of a dataset run the drift check against the champion's
    training data; when it fires, the champion's spec is retrained as challenger."""
    if "champion" not in model.aliases:
        st.info("Set a champion first: a monitor guards the champion.")
        return
    root, gen = str(ws.root), data.generation()
    current = next((m for m in data.monitors(root, gen) if m.model == model.name), None)
    names = [d.name for d in data.dataset_list(root, gen)]
    with st.form(f"monitor-{model.name}"):
        a, b = st.columns(2)
        dataset = a.selectbox(
            "Watched dataset", names, index=names.index(current.dataset) if current else 0
        )
        target = b.text_input("Label column", value=current.target if current else "")
        c, d = st.columns(2)
        share = c.slider(
            "Fire when this share of columns drifts",
            0.05,
            1.0,
            current.drift_share if current else 0.25,
            0.05,
        )
        drop = d.number_input(
            "Fire when the metric drops by more than (% of the reference; 0: off)",
            0.0,
            99.0,
            100 * (current.max_performance_drop or 0) if current else 5.0,
            1.0,
            help="Needs labels in the new version; the drop must also be clear of the "
            "bootstrap interval.",
        )
        auto = st.checkbox(
            "Promote automatically when the gate allows",
            value=current.auto_promote if current else False,
        )
        if st.form_submit_button("Save monitor", icon=":material/monitor_heart:"):
            with user_errors():
                monitoring.set_monitor(
                    ws,
                    model.name,
                    dataset,
                    target.strip(),
                    drift_share=share,
                    auto_promote=auto,
                    max_performance_drop=drop / 100 or None,
                )
                st.session_state["flash"] = f"Monitoring {model.name} on {dataset}."
                st.rerun()
    history = data.monitor_events(root, gen, model.name)  # every event: none cut off unseen
    if history:
        st.caption(f"{len(history):,} monitor check(s), newest first.")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "when (UTC)": e.checked_at,
                        "version": e.dataset_ref,
                        "fired": e.fired,
                        "action": e.action,
                        "rule": e.detail.get("rule", ""),
                        "drop": e.detail.get("performance_drop"),
                        "challenger": e.detail.get("challenger", ""),
                    }
                    for e in history
                ]
            ),
            hide_index=True,
        )


with user_errors(), flash_scope():
    ws = data.workspace()
    if flash := st.session_state.get("flash"):
        st.success(flash)
    models = data.models(str(ws.root), data.generation())
    names = [m.name for m in models]
    # A toggle, not an expander: a collapsed expander still builds every widget of its form.
    if st.toggle("Register a model from a run", value=not models, key="register_model_open"):
        with st.container(border=True):
            register_form(ws, names)
    if not models:
        st.info(
            "No model registered yet. Register a finished run's model above, or call "
            "`wb.register_model(run_id, 'churn-classifier')`."
        )
        st.stop()
    wanted = st.session_state.get("model")
    name = st.selectbox("Model", names, index=names.index(wanted) if wanted in names else 0)
    st.session_state["model"] = name
    model = models[names.index(name)]
    badge = data.monitor_status(str(ws.root), data.generation(), name)
    from workbench.drift import monitoring

    st.markdown(f"Monitoring: :{monitoring.badge_color(badge)}-badge[{badge}]")
    versions = data.model_versions(str(ws.root), data.generation(), name)
    st.dataframe(versions_table(versions), hide_index=True, key=f"versions-{name}")
    left, right = st.columns([1, 1])
    with left:
        st.subheader("Aliases")
        aliases_panel(ws, model, versions)
    with right:
        ref = st.selectbox("Version", [v.ref for v in versions], key=f"version-{name}")
        version = next(v for v in versions if v.ref == ref)
        # Keyed and stateful: the open tab stays open when a message above it comes or goes,
        # and only the open tab runs (champion vs challenger loads two models and resamples
        # 1,000 times; a visitor reading the model card should not wait for it).
        panels = {
            "Model card": lambda: card_tab(ws, version),
            "Lineage": lambda: lineage_tab(ws, model),
            "Compare versions": lambda: compare_versions_tab(versions),
            "Champion vs challenger": lambda: champion_tab(ws, model, versions),
            "Score": lambda: score_tab(ws, version),
            "Monitor": lambda: monitor_tab(ws, model),
        }
        lazy_tabs(panels, key=f"model-tabs-{name}")
