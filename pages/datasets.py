"""Datasets: register versions, see each version's profile, preview, contract and diffs."""

import pandas as pd
import streamlit as st

from workbench.datasets import contracts
from workbench.datasets import versions as datasets
from workbench.settings import Settings
from workbench.store.entities import DatasetVersion
from workbench.ui import charts, data, nav
from workbench.ui.widgets import code_text, flash_scope, lazy_tabs, markdown_text, user_errors

PAGE_SIZES = (50, 100, 500)

st.title("Datasets")


def _label(dataset) -> str:
    return f"{dataset.name} ({datasets.counted(dataset.n_versions, 'version')})"


def register_form(names: list[str], current: str | None) -> None:
    """The form that registers an uploaded file as a version of ``current`` (or a new
    dataset); on success the page reruns on that dataset with a flash message."""
    limit = Settings.from_env().max_upload_mb
    with st.form("register", clear_on_submit=True):
        st.markdown("**Register a version** from a CSV or Parquet file")
        upload = st.file_uploader(
            "File",
            type=["csv", "tsv", "txt", "parquet", "pq"],
            help=f"Up to {limit:g} MB (WORKBENCH_MAX_UPLOAD_MB).",
        )
        left, right = st.columns([2, 1])
        name = left.text_input(
            "Dataset name",
            value=current or "",
            help="An existing name adds a version; a new one creates "
            "the dataset. Letters, digits, _ . -",
        )
        encoding = right.selectbox(
            "Encoding", ["utf-8", "latin-1"], help="The CSV's text encoding."
        )
        message = st.text_input("Message", placeholder="what is new in this version")
        if not st.form_submit_button("Register", type="primary", icon=":material/upload:"):
            return
    if upload is None:
        st.warning("Choose a file first.")
        return
    with user_errors(), st.spinner(f"Registering {upload.name}…"):
        result = datasets.register_upload(
            data.workspace(),
            upload,
            upload.name,
            name.strip(),
            size=upload.size,
            message=message,
            encoding=encoding,
        )
        st.session_state["dataset"] = result.version.dataset_name
        st.session_state["pending_register_close"] = True
        st.session_state["flash"] = (
            result.created and result.version.contract_passed is not False,
            result.message,
        )
        st.rerun()


def versions_table(versions: list[DatasetVersion]) -> pd.DataFrame:
    """One display row per version, in the order given (newest first)."""
    return pd.DataFrame(
        {
            "version": [f"v{v.version}" for v in versions],
            "contract": [datasets.contract_status(v) for v in versions],
            "rows": [v.n_rows for v in versions],
            "columns": [v.n_columns for v in versions],
            "created": [v.created_at for v in versions],
            "author": [v.created_by for v in versions],
            "source": [f"{v.source}: {v.source_name}" for v in versions],
            "message": [v.message for v in versions],
            "fingerprint": [v.fingerprint[:12] for v in versions],
        }
    )


def profile_tab(root: str, gen: tuple, version: DatasetVersion) -> None:
    """The profile as one table, each column's distribution drawn small in its row; a
    selected row shows that column's distribution in full. Nothing else is drawn on arrival
    (a chart costs the browser about 0.2 s to mount, a table's mini charts about nothing)."""
    profile = data.dataset_profile(root, gen, version)
    table = datasets.profile_table(profile, version.n_rows)
    table.insert(2, "distribution", [_shape(p) for p in profile])
    table["top values"] = [", ".join(p.top_values[:3]) for p in profile]
    st.caption(
        f"{version.n_rows:,} rows · {version.n_columns} columns · "
        f"{version.duplicate_rows:,} duplicate rows · computed in DuckDB at "
        f"registration · {datasets.PROFILE_NOTE} · select a row to see its column's "
        "distribution"
    )
    event = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"profile-{version.dataset_name}",  # one grid per dataset: a pick updates it
        column_config={
            "distribution": st.column_config.BarChartColumn(
                y_min=0,
                help="Numbers and dates: a 30-bin histogram over the finite values. Text "
                "and booleans: the most frequent values, most frequent first.",
            )
        },
    )
    picked = [i for i in event.selection.rows if i < len(profile)]  # kept from another version
    if picked:
        column = profile[picked[0]]
        st.plotly_chart(charts.column_distribution(column), key=f"dist-chart-{version.ref}")


def _shape(p) -> list[int]:
    """A column's distribution as bar heights: its histogram, or its top values' counts."""
    return list(p.hist_counts) if p.is_numeric and p.hist_counts else list(p.top_counts[:30])


def preview_tab(root: str, version: DatasetVersion) -> None:
    """One page of the version's rows, in stored order (never the whole table)."""
    left, right = st.columns([1, 3])
    size = left.selectbox("Rows per page", PAGE_SIZES, index=1, key=f"psize-{version.ref}")
    pages = max((version.n_rows + size - 1) // size, 1)
    page = right.number_input(f"Page (of {pages:,})", 1, pages, 1, key=f"page-{version.ref}")
    start = (page - 1) * size
    st.caption(
        f"Rows {start + 1:,} to {min(start + size, version.n_rows):,} of "
        f"{version.n_rows:,}, in stored order"
    )
    st.dataframe(data.dataset_preview(root, version, page - 1, size), hide_index=True)


def contract_tab(root: str, gen: tuple, version: DatasetVersion) -> None:
    """The version's newest contract check (failed checks first, with examples), every
    check in an expander, and the contract editor."""
    revision, checks = data.dataset_checks(root, gen, version)
    failed = [c for c in checks if not c.passed]
    if revision is None:
        st.info("This version has not been checked against a contract.")
    elif failed:
        st.warning(
            f"{version.ref} breaks contract revision {revision}: {len(failed)} of "
            f"{len(checks)} checks failed.",
            icon=":material/gpp_bad:",
        )
        st.markdown(
            "\n".join(
                f"- **{markdown_text(c.check)}** {markdown_text(c.message)}"
                + (
                    f" Examples: {', '.join(code_text(e) for e in c.examples[:10])}"
                    if c.examples
                    else ""
                )
                for c in failed
            )
        )
    else:
        st.success(
            f"{version.ref} passes all {len(checks)} checks of contract revision {revision}.",
            icon=":material/verified:",
        )
    with st.expander(f"All {len(checks)} checks"):
        st.dataframe(
            pd.DataFrame(
                {
                    "check": [c.check for c in checks],
                    "column": [c.column for c in checks],
                    "passed": [c.passed for c in checks],
                    "message": [c.message for c in checks],
                }
            ),
            hide_index=True,
        )
    contract_editor(version)


def contract_editor(version: DatasetVersion) -> None:
    """The dataset's newest contract as an editable table; saving adds a revision and
    checks the latest version against it."""
    ws = data.workspace()
    found = datasets.get_contract(ws, version.dataset_name)
    if found is None:
        return
    revision, spec = found
    st.markdown(f"**Edit the contract** (revision {revision}; checked on every new version)")
    st.caption(
        "Inferred from the first version: required columns with their types, "
        "nullability, observed ranges, and allowed values for text with at most "
        f"{contracts.MAX_ALLOWED_LEVELS} levels. Saving adds a revision and checks "
        "the latest version against it."
    )
    with st.form(f"contract-{version.dataset_name}-{revision}"):
        edited = st.data_editor(
            contracts.to_editor(spec),
            hide_index=True,
            num_rows="dynamic",
            column_config={
                "type": st.column_config.SelectboxColumn(options=list(contracts.COLUMN_TYPES)),
                "allowed": st.column_config.TextColumn(help="comma-separated"),
            },
        )
        names = [r["name"] for r in spec["columns"]]
        a, b, c, d = st.columns(4)
        key = a.selectbox(
            "Key column",
            ["(none)", *names],
            index=names.index(spec["key"]) + 1 if spec.get("key") in names else 0,
        )
        extra = b.checkbox("Allow extra columns", value=spec.get("allow_extra_columns", True))
        min_rows = c.number_input("Min rows", 0, value=spec.get("min_rows") or 0)
        max_rows = d.number_input("Max rows (0: no limit)", 0, value=spec.get("max_rows") or 0)
        note = st.text_input("Note", placeholder="why the contract changes")
        if st.form_submit_button("Save contract", icon=":material/save:"):
            with user_errors():
                new_spec = contracts.from_editor(
                    edited,
                    key=None if key == "(none)" else key,
                    allow_extra_columns=extra,
                    min_rows=int(min_rows) or None,
                    max_rows=int(max_rows) or None,
                )
                new_rev = datasets.save_contract(ws, version.dataset_name, new_spec, note=note)
                st.session_state["flash"] = (
                    True,
                    f"Saved contract revision {new_rev}; "
                    "the latest version was checked against it.",
                )
                st.rerun()


def diff_tab(root: str, versions: list[DatasetVersion], version: DatasetVersion) -> None:
    """Two versions of the dataset compared: row counts, schema changes, sample rows and
    the column profiles side by side (``workbench.datasets.versions.diff``)."""
    if len(versions) < 2:
        st.info("A diff needs two versions; register another one.")
        return
    refs = [v.ref for v in versions]
    start_ref, start_cur = datasets.default_diff(versions, version.ref)
    a, b, c = st.columns(3)
    reference = a.selectbox(
        "Reference", refs, index=refs.index(start_ref), key=f"diff-ref-{version.ref}"
    )
    current = b.selectbox(
        "Current", refs, index=refs.index(start_cur), key=f"diff-cur-{version.ref}"
    )
    profile = data.dataset_profile(root, data.generation(), version)
    default_key = datasets.contract_key(data.workspace(), version.dataset_name)
    options = ["(none: compare as multisets)", *[p.name for p in profile]]
    key = c.selectbox(
        "Match rows by",
        options,
        index=options.index(default_key) if default_key in options else 0,
        key=f"diff-key-{version.ref}",
    )
    if reference == current:
        st.info("Pick two different versions.")
        return
    d = data.dataset_diff(root, reference, current, None if key.startswith("(none") else key)
    r = d.rows
    m = st.columns(5)
    m[0].metric("Rows", f"{d.current.n_rows:,}", f"{d.current.n_rows - d.reference.n_rows:+,}")
    m[1].metric("Added", f"{r.added:,}")
    m[2].metric("Removed", f"{r.removed:,}")
    if r.mode == "key":
        m[3].metric("Changed", f"{r.changed:,}")
        m[4].metric("Unchanged", f"{r.unchanged:,}")
        st.caption(
            f"Rows matched by **{r.key}**; compared on {len(r.compared_columns)} shared columns."
        )
    else:
        st.caption(
            "No key column: rows compared as multisets (duplicates counted) on the "
            f"{len(r.compared_columns)} shared columns."
        )
    if r.note:
        st.warning(r.note)
    if d.schema_changes:
        st.markdown("**Schema changes**")
        st.dataframe(pd.DataFrame([c.__dict__ for c in d.schema_changes]), hide_index=True)
    else:
        st.caption("Schema unchanged.")
    for title, frame in (
        ("Added rows (sample)", r.added_sample),
        ("Removed rows (sample)", r.removed_sample),
        ("Changed rows (sample, per column)", r.changed_sample),
    ):
        if not frame.empty:
            with st.expander(title):
                st.dataframe(frame, hide_index=True)
    if r.changed_by_column:
        st.caption(
            "Changed values per column: "
            + ", ".join(
                f"{k} {v:,}" for k, v in sorted(r.changed_by_column.items(), key=lambda kv: -kv[1])
            )
        )
    st.markdown("**Column profiles side by side**")
    st.dataframe(d.profile_changes, hide_index=True)


def download_tab(version: DatasetVersion) -> None:
    """CSV and Parquet downloads of the version, with what CSV cannot carry back."""
    ws = data.workspace()
    st.caption(
        f"Snapshot blob sha256 `{version.blob_sha256}` ({version.size_bytes:,} bytes, "
        "Parquet, zstd)"
    )
    left, right = st.columns(2)
    stem = f"{version.dataset_name}-v{version.version}"
    left.download_button(
        "Download CSV",
        data=lambda: datasets.export_bytes(ws, version, "csv"),
        file_name=f"{stem}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=f"csv-{version.ref}",
    )
    right.download_button(
        "Download Parquet",
        data=lambda: datasets.export_bytes(ws, version, "parquet"),
        file_name=f"{stem}.parquet",
        on_click="ignore",
        icon=":material/download:",
        key=f"pq-{version.ref}",
    )
    for note in datasets.csv_caveats(ws, version):
        st.caption(note)


@st.fragment
def version_view(root: str, name: str) -> None:
    """The versions of one dataset and the selected version's tabs. A fragment: picking a
    version or a tab reruns this part only (with the store's generation read again)."""
    gen = data.generation()
    versions = data.dataset_versions(root, gen, name)
    event = st.dataframe(
        versions_table(versions),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"versions-{name}-{len(versions)}",
    )
    rows = event.selection.rows
    version = versions[rows[0]] if rows else versions[0]
    flag = (
        ""
        if version.contract_passed is not False
        else f" · :red[:material/gpp_bad: breaks the contract ({version.n_failed_checks})]"
    )
    st.subheader(version.ref)
    st.caption(
        f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by} · "
        f"from {version.source} `{version.source_name}` · fingerprint "
        f"`{version.fingerprint[:16]}`{flag}"
        + (f" · parent v{version.parent_version}" if version.parent_version else "")
    )
    if version.message:
        st.markdown(f"> {markdown_text(version.message)}")
    lazy_tabs(
        {
            "Profile": lambda: profile_tab(root, gen, version),
            "Preview": lambda: preview_tab(root, version),
            "Contract": lambda: contract_tab(root, gen, version),
            "Diff": lambda: diff_tab(root, versions, version),
            "Download": lambda: download_tab(version),
        },
        key=f"version-tabs-{name}",  # the open tab stays open when another version is picked
    )


with user_errors(), flash_scope():
    ws = data.workspace()
    root = str(ws.root)
    gen = data.generation()
    flash = st.session_state.get("flash")
    if flash:
        (st.success if flash[0] else st.warning)(flash[1])
    found = data.dataset_list(root, gen)
    names = [d.name for d in found]
    if not names:
        st.info(
            "No datasets yet. Upload a CSV or Parquet file below, run "
            "`workbench datasets add FILE --name NAME`, call `wb.log_dataset(df, NAME)`, "
            f"or drop a file into `{ws.paths.inbox}/NAME/`."
        )
        register_form(names, None)
        st.stop()
    nav.take_query_param("dataset", "dataset")
    wanted = st.session_state.get("dataset")
    if wanted not in names:
        wanted = datasets.default_dataset(found)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    choice = left.selectbox(
        "Dataset",
        names,
        index=names.index(wanted),
        format_func=lambda n: _label(found[names.index(n)]),
    )
    st.session_state["dataset"] = choice
    # A toggle, not an expander: a collapsed expander still builds (and the browser mounts)
    # every widget of the form.
    if st.session_state.pop("pending_register_close", False):
        st.session_state["register_open"] = False
    if right.toggle("Register a version", key="register_open"):
        with st.container(border=True):
            register_form(names, choice)
            st.caption(
                f"Or drop a file into `{ws.paths.inbox}/<dataset>/`: it is registered once "
                "it has stopped changing for a few seconds."
            )
    version_view(root, choice)
