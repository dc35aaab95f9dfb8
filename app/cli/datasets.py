"""`workbench datasets ...`: register, list, show, diff and export dataset versions."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from workbench.cli.terminal import print_frame, say
from workbench.datasets import versions as datasets
from workbench.store.errors import InvalidInput
from workbench.workspaces import open_workspace


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`workbench datasets add|list|versions|show|diff|export`."""
    ds = sub.add_parser("datasets", help="dataset versions").add_subparsers(
        dest="datasets_command", required=True, metavar="SUBCOMMAND"
    )
    add = ds.add_parser("add", help="register a CSV or Parquet file as a new dataset version")
    add.add_argument("path", help="the CSV or Parquet file")
    add.add_argument("--name", required=True, help="dataset name, e.g. churn")
    add.add_argument("-m", "--message", default="", help="what changed in this version")
    add.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a tag for the version (repeatable)",
    )
    add.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of a CSV "
        "(default utf-8; any Python codec, e.g. latin-1 or cp1252; a byte-order mark "
        "(UTF-8, UTF-16) is recognized by itself)",
    )
    add.set_defaults(func=cmd_datasets_add)
    ds.add_parser("list", help="list datasets with their latest version").set_defaults(
        func=cmd_datasets_list
    )
    versions = ds.add_parser("versions", help="list the versions of a dataset")
    versions.add_argument("name")
    versions.set_defaults(func=cmd_datasets_versions)
    show = ds.add_parser("show", help="a version's schema, profile and contract results")
    show.add_argument("ref", help="e.g. churn@v3, or churn for the latest")
    show.set_defaults(func=cmd_datasets_show)
    diff = ds.add_parser("diff", help="compare two versions (schema, rows, profiles)")
    diff.add_argument("reference", help="e.g. churn@v1")
    diff.add_argument("current", help="e.g. churn@v2")
    diff.add_argument("--key", help="key column to match rows by (default: the contract's)")
    diff.set_defaults(func=cmd_datasets_diff)
    export = ds.add_parser("export", help="write a version to a CSV or Parquet file")
    export.add_argument("ref", help="e.g. churn@v3")
    export.add_argument("target", help="output file; .csv or .parquet decides the format")
    export.add_argument("--force", action="store_true", help="replace an existing file")
    export.set_defaults(func=cmd_datasets_export)


def cmd_datasets_add(args: argparse.Namespace) -> int:
    """``workbench datasets add PATH --name NAME [-m MSG] [--tag K=V]...
    [--encoding E]``: register the CSV or Parquet file as a new version and print the outcome
    and each failed contract check; 0. InvalidInput for a ``--tag`` without ``=`` or a file
    the service refuses."""
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--tag {item!r} must be KEY=VALUE.")
        tags[key] = value
    result = datasets.register(
        open_workspace(args.workspace),
        Path(args.path),
        args.name,
        message=args.message,
        tags=tags,
        source_kind="path",
        encoding=args.encoding,
    )
    say(result.message)
    for check in result.checks:
        if not check.passed:
            say(f"  failed {check.check}: {check.message}")
    return 0


def cmd_datasets_list(args: argparse.Namespace) -> int:
    """``workbench datasets list``: each dataset's name, latest version, number
    of versions, author and creation time, as a table; 0."""
    rows = [
        (d.name, d.latest_version, d.n_versions, d.created_by, d.created_at)
        for d in datasets.list_datasets(open_workspace(args.workspace))
    ]
    print_frame(
        pd.DataFrame(rows, columns=["name", "latest", "versions", "created_by", "created_at"]),
        "table",
    )
    return 0


def cmd_datasets_versions(args: argparse.Namespace) -> int:
    """``workbench datasets versions NAME``: the dataset's versions (rows,
    columns, contract state, time, author, message) as a table; 0. NotFound for an unknown
    dataset."""
    rows = [
        (v.ref, v.n_rows, v.n_columns, _contract_word(v), v.created_at, v.created_by, v.message)
        for v in datasets.list_versions(open_workspace(args.workspace), args.name)
    ]
    columns = ["version", "rows", "columns", "contract", "created_at", "author", "message"]
    print_frame(pd.DataFrame(rows, columns=columns), "table")
    return 0


def cmd_datasets_show(args: argparse.Namespace) -> int:
    """``workbench datasets show REF`` (``churn@v3``, or ``churn`` for the
    latest): the version's size, fingerprint and source, its column profile as a table, and
    each failed contract check; 0. NotFound for an unknown ref."""
    ws = open_workspace(args.workspace)
    v = datasets.get_version(ws, args.ref)
    say(
        f"{v.ref}: {datasets.counted(v.n_rows, 'row')} x "
        f"{datasets.counted(v.n_columns, 'column')}, "
        f"{v.size_bytes:,} bytes, "
        f"contract {_contract_word(v)}"
    )
    say(
        f"fingerprint {v.fingerprint}  created {v.created_at:%Y-%m-%d %H:%M} by "
        f"{v.created_by}  from {v.source} {v.source_name}"
    )
    table = datasets.profile_table(datasets.get_profile(ws, v), v.n_rows)
    print_frame(table, "table")
    say(datasets.PROFILE_NOTE)
    for check in datasets.get_checks(ws, v)[1]:
        if not check.passed:
            examples = f" e.g. {', '.join(check.examples[:5])}" if check.examples else ""
            say(f"failed {check.check}: {check.message}{examples}")
    return 0


def cmd_datasets_diff(args: argparse.Namespace) -> int:
    """``workbench datasets diff REFERENCE CURRENT [--key COLUMN]``: row counts,
    column changes and the row differences (by key, or as multisets) of two versions; 0."""
    d = datasets.diff(open_workspace(args.workspace), args.reference, args.current, args.key)
    say(
        f"{d.reference.ref} -> {d.current.ref}: rows {d.reference.n_rows:,} -> {d.current.n_rows:,}"
    )
    for change in d.schema_changes:
        say(
            f"  column {change.column}: {change.change} ({change.reference_type} -> "
            f"{change.current_type})"
        )
    r = d.rows
    if r.mode == "key":
        say(
            f"  matched by {r.key}: {r.added:,} added, {r.removed:,} removed, "
            f"{r.changed:,} changed, {r.unchanged:,} unchanged"
        )
    else:
        say(f"  as multisets: {r.added:,} rows only in current, {r.removed:,} only in reference")
    if r.note:
        say(f"  note: {r.note}")
    return 0


def cmd_datasets_export(args: argparse.Namespace) -> int:
    """``workbench datasets export REF TARGET [--force]``: write the version
    to TARGET (.csv or .parquet decides the format; an existing file only with ``--force``),
    and for a CSV say what would not read back the same; 0. InvalidInput for a target that
    cannot be written (:func:`workbench.files.check_output_path`)."""
    ws = open_workspace(args.workspace)
    out = datasets.export(ws, args.ref, args.target, overwrite=args.force)
    say(f"wrote {out}")
    if out.suffix.lower() == ".csv":  # read back: what would not register as the same
        for note in datasets.csv_round_trip(ws, datasets.get_version(ws, args.ref), out):
            say(f"note: {note}")
    return 0


def _contract_word(v) -> str:
    """The contract outcome as the tables print it: ``datasets.contract_status``, a failure
    in capitals so it stands out in a terminal."""
    word = datasets.contract_status(v)
    return word.upper() if word.startswith("failed") else word
