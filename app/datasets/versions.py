"""Dataset versions: register, look up, load, preview, export, check and diff.

Every way in -- the Datasets page, ``workbench datasets add``, ``wb.log_dataset`` and the
watched ``inbox/`` folder -- calls :func:`register`. Registration reads the source into a
private scratch DuckDB (no workspace lock held), fingerprints it, and stops there if the
dataset already has a version with the same content. Otherwise it profiles the data,
checks it against the dataset's contract (inferring one from the first version), writes
the Parquet snapshot into the blob store and then, in one transaction, the version row,
its column profiles, tags, check results and an audit event. If that transaction fails,
the blob is removed again unless another row names it: no blob without a complete row,
no row without its blob.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from workbench.datasets import contracts
from workbench.files import check_output_path, given_path, refuse_inside, write_output
from workbench.retry import write_retrying
from workbench.settings import Settings
from workbench.store import audit, profiles, snapshots
from workbench.store import contracts as contract_checks
from workbench.store import datasets as q
from workbench.store.blobs import file_sha256
from workbench.store.diffs import RowDiff, diff_rows
from workbench.store.entities import CheckResult, ColumnProfile, Dataset, DatasetVersion, utcnow
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.snapshots import Column, Scratch
from workbench.store.snapshots import index_carries_data as index_carries_data  # for the SDK
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user, requires
from workbench.validation import check_dataset_name, check_key, check_storable, check_tag_value

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SOURCES = ("upload", "path", "sdk", "inbox", "prediction")
_REF_RE = re.compile(r"^(?P<name>[^@]+?)(?:@(?:v(?P<v>\d+)|(?P<n>\d+)|(?P<latest>latest)))?$")


@dataclass(frozen=True)
class Registration:
    """The outcome of :func:`register`: the version, and whether it was created now or the
    same content was already there (``created`` False, ``version`` is the match).
    ``notes`` are what reading the data could not keep exactly (e.g. CSV numbers with more
    digits than a float64 holds); :attr:`message` ends with them."""

    version: DatasetVersion
    created: bool
    checks: tuple[CheckResult, ...] = ()
    notes: tuple[str, ...] = ()  # what reading the data changed, e.g. digits a float drops

    @property
    def message(self) -> str:
        """One paragraph for the user: "Registered churn@v3: 1,000 rows x 8 columns."
        (with the failed-check count when it breaks the contract), or "Same content as
        churn@v2 ..."; then a "Note: ..." sentence per note."""
        v = self.version
        if not self.created:
            text = (
                f"Same content as {v.ref} (fingerprint {v.fingerprint[:12]}); no new "
                "version was made."
            )
        else:
            text = (
                f"Registered {v.ref}: {counted(v.n_rows, 'row')} x "
                f"{counted(v.n_columns, 'column')}."
            )
            if v.contract_passed is False:
                text += f" It breaks the contract: {v.n_failed_checks} check(s) failed."
        return " ".join([text, *(f"Note: {note}" for note in self.notes)])


@dataclass(frozen=True)
class SchemaChange:
    """A column that differs between the reference and the current version of a diff:
    ``added`` (only in current), ``removed`` (only in reference) or ``retyped`` (DuckDB
    type text differs); the types are None on the side that lacks the column."""

    column: str
    change: str  # added | removed | retyped
    reference_type: str | None
    current_type: str | None


@dataclass(frozen=True)
class DatasetDiff:
    """:func:`diff`'s result: the two versions, the schema changes, the row comparison
    (by key or as multisets: ``workbench.store.diffs.RowDiff``) and the shared columns'
    statistics side by side (:func:`profile_changes`, one row per column)."""

    reference: DatasetVersion
    current: DatasetVersion
    schema_changes: tuple[SchemaChange, ...]
    rows: RowDiff
    profile_changes: pd.DataFrame = field(default_factory=pd.DataFrame)


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 row", "1,005 rows"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- refs --------------------------------------------------------------------------------------


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"churn@v3"`` -> ("churn", 3); ``"churn"`` or ``"churn@latest"`` -> ("churn", None)."""
    if not isinstance(ref, str):
        raise InvalidInput(f"A dataset reference is text like 'churn@v3'; got {ref!r}.")
    m = _REF_RE.match(ref.strip())
    if not m:
        raise InvalidInput(
            f"{ref!r} is not a dataset reference; write 'churn', 'churn@v3' or 'churn@latest'."
        )
    number = m.group("v") or m.group("n")
    return check_dataset_name(m.group("name")), int(number) if number else None


# -- registering -------------------------------------------------------------------------------


@requires("editor")
def register(
    ws: Workspace,
    source: Path | str | pd.DataFrame,
    name: str,
    *,
    message: str = "",
    tags: Mapping[str, Any] | None = None,
    source_kind: str | None = None,
    source_name: str | None = None,
    encoding: str = "utf-8",
    actor: str | None = None,
    settings: Settings | None = None,
) -> Registration:
    """Register ``source`` (a CSV or Parquet path, or a DataFrame) as a version of ``name``.

    Raises InvalidInput (bad name, tags or data; the message says what and how to fix it).
    Nothing is written unless a complete version is.
    """
    settings = settings or Settings.from_env()
    name = check_dataset_name(name)
    clean_tags = {check_key(k, "Tag"): check_tag_value(k, v) for k, v in (tags or {}).items()}
    if not isinstance(message, str) or len(message) > 10_000:
        raise InvalidInput("The message must be text of at most 10,000 characters.")
    check_storable(message, f"The message {message[:40]!r}")
    if source_name is not None:
        check_storable(source_name, f"The file name {source_name!r}", fix=snapshots.RENAME_FILE)
    actor = actor or current_user()
    kind = source_kind or ("sdk" if isinstance(source, pd.DataFrame) else "path")
    if kind not in SOURCES:
        raise InvalidInput(f"source_kind must be one of {', '.join(SOURCES)}; got {kind!r}.")
    label = source_name or (
        Path(source).name if not isinstance(source, pd.DataFrame) else "the DataFrame"
    )
    if not isinstance(source, pd.DataFrame):
        # before any byte is read: a device or a pipe would be read (or waited on) forever
        snapshots.readable_file(Path(source))
    source_hash = _source_hash(source, encoding)
    if source_hash is not None:  # the same bytes as a version's file: that version, at once
        dataset = ws.store.read(lambda tx: q.find_dataset(tx, name))
        if dataset is not None:
            match = ws.store.read(
                lambda tx: q.find_by_source_hash(tx, dataset.dataset_id, source_hash)
            )
            if match is not None:
                return Registration(match, created=False)
    with Scratch() as scratch:
        _load(
            scratch,
            source,
            label,
            encoding,
            settings.max_upload_bytes if kind == "upload" else None,
            ws.blobs.tmp_dir,
        )
        columns = snapshots.normalize(scratch, label)
        snap = snapshots.snapshot_of(scratch, columns)
        dataset = ws.store.read(lambda tx: q.find_dataset(tx, name))
        if dataset is not None:
            match = ws.store.read(
                lambda tx: q.find_by_fingerprint(tx, dataset.dataset_id, snap.fingerprint)
            )
            if match is not None:
                if source_hash is not None:  # recognized by its bytes next time
                    ws.store.write(
                        lambda tx: q.record_source_hash(
                            tx, dataset.dataset_id, source_hash, match.version
                        )
                    )
                return Registration(match, created=False, notes=tuple(scratch.notes))
        profile = profiles.profile(scratch, columns)
        contract = (
            ws.store.read(lambda tx: q.latest_contract(tx, dataset.dataset_id)) if dataset else None
        )
        inferred = None
        if contract is None:
            unique = contract_checks.unique_columns(scratch, contracts.key_candidates(profile))
            inferred = contracts.infer(profile, unique)
            spec = inferred
        else:
            spec = contract[1]
        # the profile decides most checks exactly, so they need no scan of the rows
        checks = contract_checks.check(scratch, columns, spec, profile=profile)
        parquet = snapshots.write_parquet(scratch, ws.blobs.tmp_dir)
        notes = tuple(scratch.notes)
    blob = ws.blobs.adopt(parquet)
    draft = DatasetVersion(
        dataset_id=dataset.dataset_id if dataset else "",
        dataset_name=name,
        version=0,
        fingerprint=snap.fingerprint,
        blob_sha256=blob.sha256,
        size_bytes=blob.size_bytes,
        n_rows=snap.n_rows,
        n_columns=len(columns),
        duplicate_rows=snap.duplicate_rows,
        created_at=utcnow(),
        created_by=actor,
        message=message,
        parent_version=None,
        source=kind,
        source_name=label,
        contract_revision=None,
        contract_passed=None,
        n_failed_checks=0,
        tags=clean_tags,
    )
    try:
        version, created = _write_with_retry(ws, draft, profile, checks, inferred, source_hash)
    except BaseException:
        _discard_blob(ws, blob.sha256)
        raise
    if not created:
        _discard_blob(ws, blob.sha256)
        return Registration(version, created=False, notes=notes)
    return Registration(version, created=True, checks=tuple(checks), notes=notes)


@requires("editor")
def register_upload(
    ws: Workspace,
    stream: BinaryIO,
    filename: str,
    name: str,
    *,
    size: int,
    settings: Settings | None = None,
    **kwargs: Any,
) -> Registration:
    """Register an uploaded file (the page's uploader): checks the declared ``size``
    against the limit before reading, spools the stream to a temporary file next to the
    blobs, counting what it reads (a stream longer than declared is cut at the limit and
    refused), and removes the file afterwards."""
    settings = settings or Settings.from_env()
    limit = settings.max_upload_bytes
    _check_size(filename, size, limit)
    ws.blobs.tmp_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix.lower()[:12]
    fd, tmp = tempfile.mkstemp(dir=ws.blobs.tmp_dir, prefix="upload-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            read = 0
            while chunk := stream.read(min(1 << 20, limit + 1 - read)):
                out.write(chunk)
                read += len(chunk)
                if read > limit:
                    _check_size(filename, read, limit, more=True)
        return register(
            ws,
            Path(tmp),
            name,
            source_kind="upload",
            source_name=filename,
            settings=settings,
            **kwargs,
        )
    finally:
        Path(tmp).unlink(missing_ok=True)


def _check_size(label: str, size: int, max_bytes: int, *, more: bool = False) -> None:
    """Refuse ``size`` bytes over ``max_bytes`` (``more``: at least that many were read,
    and reading stopped there)."""
    if size > max_bytes:
        raise InvalidInput(
            f"{label} is {'more than ' if more else ''}{_size(max_bytes if more else size)}; "
            f"uploads are limited to {_size(max_bytes)}. "
            "Register it from the command line "
            "(workbench datasets add PATH), upload a Parquet file (usually much smaller), or "
            "raise WORKBENCH_MAX_UPLOAD_MB."
        )


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n / 1024:,.1f} KB"


def _load(
    scratch: Scratch,
    source: Path | str | pd.DataFrame,
    label: str,
    encoding: str,
    max_bytes: int | None,
    tmp_dir: Path | None = None,
) -> None:
    if isinstance(source, pd.DataFrame):
        snapshots.load_frame(scratch, source, label=label)
        return
    path = Path(source)  # a regular, readable file: register() checked it first
    size = path.stat().st_size
    if max_bytes is not None:
        _check_size(label, size, max_bytes)
    suffix = Path(label).suffix.lower() or path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        snapshots.load_parquet(scratch, path, label=label)
    elif suffix in CSV_SUFFIXES:
        snapshots.load_csv(scratch, path, label=label, encoding=encoding, tmp_dir=tmp_dir)
    else:
        raise InvalidInput(
            f"{label}: unsupported file type {suffix or '(none)'!r}; use a .csv or .parquet file."
        )


def _source_hash(source: Path | str | pd.DataFrame, encoding: str) -> str | None:
    """The sha256 of a source file's bytes, with the encoding they are read in (the same
    bytes read as latin-1 are other content); None for a DataFrame or a path that is not a
    readable file (loading it says what is wrong)."""
    if isinstance(source, pd.DataFrame):
        return None
    try:
        return f"{encoding}:{file_sha256(Path(source))}"
    except OSError:
        return None


def _write_with_retry(
    ws: Workspace, draft: DatasetVersion, profile, checks, inferred, source_hash: str | None = None
) -> tuple[DatasetVersion, bool]:
    # Two sessions registering into the same dataset at once can both pick the next version
    # number (or both create the dataset); the loser tries again with the numbers the winner
    # left (see workbench.retry).
    return write_retrying(
        ws.store, lambda tx: _write_version(tx, draft, profile, checks, inferred, source_hash)
    )


def _write_version(
    tx,
    draft: DatasetVersion,
    profile: Sequence[ColumnProfile],
    checks: Sequence[CheckResult],
    inferred: dict | None,
    source_hash: str | None = None,
) -> tuple[DatasetVersion, bool]:
    dataset = q.find_dataset(tx, draft.dataset_name)
    if dataset is None:
        dataset_id = uuid.uuid4().hex
        q.insert_dataset(tx, dataset_id, draft.dataset_name, description="", actor=draft.created_by)
        latest = 0
    else:
        dataset_id, latest = dataset.dataset_id, dataset.latest_version
        match = q.find_by_fingerprint(tx, dataset_id, draft.fingerprint)
        if match is not None:  # registered meanwhile by another session
            return match, False
    version = replace(
        draft, dataset_id=dataset_id, version=latest + 1, parent_version=latest or None
    )
    q.insert_version(tx, version, profile)
    if source_hash is not None:
        q.record_source_hash(tx, dataset_id, source_hash, version.version)
    contract = q.latest_contract(tx, dataset_id)
    if contract is None:
        revision = q.insert_contract(
            tx,
            dataset_id,
            inferred or {},
            actor=draft.created_by,
            note=f"inferred from v{version.version}",
        )
    else:
        revision = contract[0]
    q.set_contract_outcome(tx, dataset_id, version.version, revision, checks)
    failed = sum(not c.passed for c in checks)
    audit.record(
        tx,
        actor=draft.created_by,
        action="dataset.version.create",
        object_type="dataset_version",
        object_id=version.ref,
        detail={
            "fingerprint": version.fingerprint,
            "rows": version.n_rows,
            "source": version.source,
            "source_name": version.source_name,
            "failed_checks": failed,
        },
    )
    return replace(
        version, contract_revision=revision, contract_passed=failed == 0, n_failed_checks=failed
    ), True


def _discard_blob(ws: Workspace, sha256: str) -> None:
    try:
        referenced = ws.store.read(lambda tx: q.blob_referenced(tx, sha256))
    except Exception:
        return  # cannot tell: keeping an orphan is safe, deleting a referenced blob is not
    if not referenced:
        ws.blobs.remove(sha256)


# -- reading -----------------------------------------------------------------------------------


def list_datasets(ws: Workspace) -> list[Dataset]:
    """The active datasets by name, each with its latest version number and version count
    (0 and 0 for a dataset whose versions were all removed); empty when there are none."""
    return ws.store.read(q.list_datasets)


def default_dataset(found: list[Dataset]) -> str | None:
    """The dataset a page opens when the user has not picked one: the one with the most
    versions (it has a history to show: diffs, contract checks, drift), ties broken by
    name; None when ``found`` is empty. In the demo that is ``churn``, not the first name
    alphabetically (``breast_cancer``)."""
    if not found:
        return None
    return min(found, key=lambda d: (-d.n_versions, d.name)).name


def list_versions(ws: Workspace, name: str) -> list[DatasetVersion]:
    """Versions of ``name``, newest first. Raises NotFound."""
    name = check_dataset_name(name)

    def work(tx) -> list[DatasetVersion]:
        ds = q.find_dataset(tx, name)
        if ds is None:
            raise NotFound(f"Dataset {name!r} not found; register it first.")
        return q.list_versions(tx, ds.dataset_id)

    return ws.store.read(work)


def list_all_versions(ws: Workspace, *, predictions: bool = True) -> list[DatasetVersion]:
    """Every version of every dataset :func:`list_datasets` lists, in one read: dataset by
    dataset (by name), each one's newest first; ``predictions=False`` leaves out the
    versions batch scoring wrote (source ``"prediction"``: no labels to train or compare
    on). For pickers and lineage that span datasets: calling :func:`list_versions` once per
    dataset costs a read per dataset. Empty when there are no datasets."""
    return ws.store.read(lambda tx: q.list_all_versions(tx, predictions=predictions))


def count_versions(ws: Workspace, name: str) -> int:
    """How many versions dataset ``name`` has; 0 when there is no such (active) dataset.
    Raises InvalidInput for a name that cannot be a dataset's."""
    name = check_dataset_name(name)
    return next((d.n_versions for d in list_datasets(ws) if d.name == name), 0)


def contract_status(version: DatasetVersion) -> str:
    """A version's contract outcome in a word: ``"passed"``, ``"failed (N)"`` with N the
    checks that failed, or ``"unchecked"`` (never checked against a contract)."""
    if version.contract_passed is None:
        return "unchecked"
    return "passed" if version.contract_passed else f"failed ({version.n_failed_checks})"


def default_diff(versions: Sequence[DatasetVersion], ref: str) -> tuple[str, str]:
    """The (reference, current) refs a diff of version ``ref`` starts on, among one
    dataset's ``versions`` newest first (as :func:`list_versions` returns them): ``ref``
    against the version before it, forwards in time; the first version against the one
    after it (v1 -> v2, never backwards). Raises InvalidInput with fewer than two versions
    and NotFound when ``ref`` is not among them."""
    refs = [v.ref for v in versions]
    if len(refs) < 2:
        raise InvalidInput("A diff needs two versions; register another one.")
    if ref not in refs:
        raise NotFound(f"Dataset version {ref} is not among {', '.join(refs[:10])}.")
    at = refs.index(ref)
    return (refs[at + 1], ref) if at + 1 < len(refs) else (ref, refs[at - 1])


def get_version(ws: Workspace, ref: str) -> DatasetVersion:
    """The version named by ``ref`` (``churn@v3``, ``churn``). Raises NotFound."""
    name, number = parse_ref(ref)
    if number == 0:  # not "latest": versions are numbered from 1
        latest = ws.store.read(lambda tx: q.require_version(tx, name, None)).version
        raise NotFound(
            f"{name}@v0: version 0 does not exist; versions start at 1; available: v1 to v{latest}."
        )
    return ws.store.read(lambda tx: q.require_version(tx, name, number))


def get_profile(ws: Workspace, version: DatasetVersion) -> tuple[ColumnProfile, ...]:
    """The version's column profiles in column order, as computed at registration
    (``workbench.store.profiles``: counts, min/max, mean, std, quantiles, histogram, top
    values); empty for a version of no columns."""
    return ws.store.read(lambda tx: q.column_profiles(tx, version.dataset_id, version.version))


APPROX = "≈"  # marks an estimate wherever a profile figure is shown
PROFILE_NOTE = (
    "min, median, max, mean and std are over finite values; NaN and ±inf are "
    "counted apart; min and max are exact, median, mean and std are rounded to 6 "
    "significant digits (a median of dates or timestamps to the microsecond); ≈ "
    "marks an estimate"
)


def describe(ws: Workspace, ref: str) -> pd.DataFrame:
    """The profile of version ``ref`` as shown by ``workbench datasets show`` and the
    Datasets page: see :func:`profile_table`. Raises NotFound."""
    version = get_version(ws, ref)
    return profile_table(get_profile(ws, version), version.n_rows)


def profile_table(profile: Sequence[ColumnProfile], n_rows: int) -> pd.DataFrame:
    """One row of display text per column: type, nulls, the NaN/+inf/-inf counts, distinct
    count, min, median, max, mean and std (min to max and the statistics are over finite
    values; see ``store.profiles``). Estimates carry "≈": distinct counts that are
    HyperLogLog estimates and medians of versions profiled with a t-digest. Dates and
    timestamps are shown as dates, never as numbers on the profile's axis."""
    rows = []
    for p in profile:
        median = p.quantile(0.5)
        numeric = p.family in ("integer", "float")
        rows.append(
            {
                "column": p.name,
                "type": p.dtype,
                "nulls": f"{p.nulls:,} ({_pct(p.nulls, n_rows):g}%)",
                "NaN": f"{p.nan_count:,}",
                "+inf": f"{p.posinf_count:,}",
                "-inf": f"{p.neginf_count:,}",
                "distinct": ("" if p.distinct_exact else APPROX) + f"{p.distinct:,}",
                "min": p.min_text or "",
                "median": ""
                if median is None
                else ("" if p.quantiles_exact else APPROX) + _axis_text(p, median),
                "max": p.max_text or "",
                "mean": _number_text(p.mean) if numeric else "",
                "std": _number_text(p.std) if numeric else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "column",
            "type",
            "nulls",
            "NaN",
            "+inf",
            "-inf",
            "distinct",
            "min",
            "median",
            "max",
            "mean",
            "std",
        ],
    )


def _number_text(value: float | None) -> str:
    """``value`` with thousands separators, to 6 significant digits, or exactly when its
    shortest text is no longer (1e-320 stays 1e-320); a fraction is never rounded to a
    whole number (599,999.5 is not shown as 600,000): where 6 digits would hide it, as
    many more as show it (333,334.5, not 333,334.5333333333)."""
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    exact = repr(float(value))  # shortest round-trip text: 1e-320, not 9.99989e-321
    if abs(value) >= 1e15 or not math.isfinite(value):
        short = f"{value:.6g}"
        return exact if len(exact) <= len(short) else short
    short = f"{value:,.6g}"
    if len(exact) <= len(short.replace(",", "")):
        return f"{value:,}"
    digits = 6
    while not any(ch in short for ch in ".e") and digits < 17:  # a fraction shown whole
        digits += 1
        short = f"{value:,.{digits}g}"
    return short


def _axis_text(p: ColumnProfile, value: float) -> str:
    """A value on the profile's numeric axis as the user writes it (dates as dates)."""
    try:
        if p.family == "date":
            return str((pd.Timestamp("1970-01-01") + pd.Timedelta(days=value)).date())
        if p.family == "timestamp":
            return str(pd.Timestamp(value, unit="s"))
    except (OverflowError, ValueError):  # beyond pandas' years 1677 to 2262
        return f"{value:g} {'days' if p.family == 'date' else 's'} from 1970-01-01"
    return _number_text(value)


def get_checks(ws: Workspace, version: DatasetVersion) -> tuple[int | None, list[CheckResult]]:
    """(contract revision, results in check order) of the version's newest contract
    check; (None, []) when it was never checked."""
    return ws.store.read(lambda tx: q.contract_results(tx, version.dataset_id, version.version))


def snapshot_path(ws: Workspace, version: DatasetVersion) -> Path:
    """The version's Parquet file after checking its hash. Raises NotFound/InvalidInput."""
    return ws.blobs.verified_path(version.blob_sha256)


def load(ws: Workspace, ref: str) -> pd.DataFrame:
    """The whole version as a DataFrame, every value as stored: integers as int64/uint64
    (Int64/UInt64 with NULLs), DECIMAL as ``decimal.Decimal`` objects, floats as float64
    (an object column of floats with None when a column holds both NULL and NaN), text as
    str, booleans as bool (nullable ``boolean`` with NULLs), dates and timestamps as
    datetime64 (nanoseconds kept, UTC). See store.snapshots.exact_frame."""
    return snapshots.read_all(snapshot_path(ws, get_version(ws, ref)))


def preview(
    ws: Workspace, version: DatasetVersion, page: int, page_size: int = 100
) -> pd.DataFrame:
    """One page (from 0) of rows in stored order; never the whole table."""
    if page < 0 or not 1 <= page_size <= 10_000:
        raise InvalidInput("page must be 0 or more and page_size 1 to 10,000.")
    path = ws.blobs.path_for(version.blob_sha256)  # hashing 1 GB per page would be slow
    if not path.is_file():
        raise NotFound(
            f"The snapshot of {version.ref} is missing from the blob store; "
            "restore the workspace from a backup."
        )
    return snapshots.read_page(path, page * page_size, page_size)


def export(
    ws: Workspace, ref: str, target: Path | str, fmt: str | None = None, *, overwrite: bool = False
) -> Path:
    """Write a version to ``target`` as CSV or Parquet (by ``fmt`` or the file suffix).
    An existing file is replaced only with ``overwrite``; an empty ``target`` is refused
    (``Path("")`` is the current folder)."""
    target = given_path(target, "export file")
    fmt = (fmt or target.suffix.lstrip(".") or "parquet").lower()
    if fmt not in ("csv", "parquet"):
        raise InvalidInput(f"Export format must be csv or parquet; got {fmt!r}.")
    target = check_output_path(target, overwrite=overwrite)
    refuse_inside(ws.root, target, "export")
    source = snapshot_path(ws, get_version(ws, ref))

    def fill(tmp: Path) -> None:
        if fmt == "csv":
            snapshots.write_csv(source, tmp)
        else:
            tmp.write_bytes(source.read_bytes())

    return write_output(target, fill)


def csv_caveats(ws: Workspace, version: DatasetVersion) -> list[str]:
    """What a CSV export of ``version`` cannot carry back, known from the stored profile
    alone (for the Download tab, before any file is written): one sentence naming the
    DECIMAL (read as float64: digits past the 17th lost), FLOAT (float32, read as
    float64) and INTERVAL (read as a time of day) columns. :func:`csv_round_trip` checks a
    written file completely."""
    kinds = {
        "DECIMAL": "decimal (it reads back as float64; digits past the 17th are lost)",
        "FLOAT": "float32 (it reads back as float64, a new version)",
        "INTERVAL": "a duration (it reads back as a time of day)",
    }
    out = []
    for p in get_profile(ws, version):
        kind = next((k for k in kinds if p.dtype.upper().startswith(k)), None)
        if kind is not None:
            out.append(f"column {p.name!r} is {kinds[kind]}")
    if not out:
        return []
    return [
        f"CSV cannot keep every type of {version.ref}: " + "; ".join(out) + ". Export "
        "Parquet to get the same content back."
    ]


def csv_round_trip(ws: Workspace, version: DatasetVersion, path: Path) -> list[str]:
    """Read the CSV export of ``version`` at ``path`` back as registering it would, and
    say what would not come back: each column whose type changes (text that looks like
    numbers, dates or booleans is typed by the reader; an all-missing number column reads
    as text; decimals, float32, durations), or, when every type holds, that the values
    differ. Empty when registering the file finds the same content. Costs one read of the
    file."""
    with Scratch() as scratch:
        try:
            snapshots.load_csv(scratch, path, label=path.name)
            columns = snapshots.normalize(scratch, path.name)
        except InvalidInput as exc:
            return [f"{path.name} does not read back as CSV ({exc}); export Parquet instead."]
        snap = snapshots.snapshot_of(scratch, columns)
    if snap.fingerprint == version.fingerprint:
        return []
    stored = {p.name: (p.dtype, p.family) for p in get_profile(ws, version)}
    changed = []
    for c in columns:
        dtype, family = stored.get(c.name, (c.dtype, c.family))
        lossy = dtype.upper().startswith(("DECIMAL", "FLOAT", "INTERVAL"))  # same family, not value
        if c.family != family or (lossy and c.dtype.upper() != dtype.upper()):
            changed.append(f"{c.name!r} {dtype} -> {c.dtype}")
    what = (
        "these columns read back as another type: " + ", ".join(changed[:8])
        if changed
        else "values differ once read back (e.g. float32 printed as text)"
    )
    return [
        f"{path.name} would not register again as the same content as {version.ref}: "
        f"{what}. Export Parquet to get the same content back."
    ]


def export_bytes(ws: Workspace, version: DatasetVersion, fmt: str) -> bytes:
    """A version's file content for a download button."""
    with tempfile.TemporaryDirectory() as tmp:
        out = export(ws, version.ref, Path(tmp) / f"data.{fmt}", fmt)
        return out.read_bytes()


# -- contracts ---------------------------------------------------------------------------------


def get_contract(ws: Workspace, name: str) -> tuple[int, dict[str, Any]] | None:
    """(revision, spec) of dataset ``name``'s newest contract; None when the dataset does
    not exist or has no contract yet (its first version writes one). The spec is the dict
    :func:`workbench.datasets.contracts.validate` accepts. Raises InvalidInput for a name
    that cannot be a dataset's."""
    name = check_dataset_name(name)

    def work(tx):
        ds = q.find_dataset(tx, name)
        return None if ds is None else q.latest_contract(tx, ds.dataset_id)

    return ws.store.read(work)


@requires("editor")
def save_contract(
    ws: Workspace, name: str, spec: dict[str, Any], *, note: str = "", actor: str | None = None
) -> int:
    """Store an edited contract as a new revision and check the latest version against it.
    Returns the revision."""
    spec = contracts.validate(spec)
    latest = get_version(ws, name)
    checks = _check_version(ws, latest, spec)
    actor = actor or current_user()

    def work(tx) -> int:
        revision = q.insert_contract(tx, latest.dataset_id, spec, actor=actor, note=note)
        q.set_contract_outcome(tx, latest.dataset_id, latest.version, revision, checks)
        audit.record(
            tx,
            actor=actor,
            action="dataset.contract.update",
            object_type="dataset",
            object_id=name,
            detail={"revision": revision, "note": note, "checked": latest.ref},
        )
        return revision

    return ws.store.write(work)


@requires("editor")
def recheck(ws: Workspace, ref: str) -> list[CheckResult]:
    """Check a version against the dataset's current contract and store the result."""
    version = get_version(ws, ref)
    contract = get_contract(ws, version.dataset_name)
    if contract is None:
        raise NotFound(f"Dataset {version.dataset_name!r} has no contract yet.")
    checks = _check_version(ws, version, contract[1])
    ws.store.write(
        lambda tx: q.set_contract_outcome(
            tx, version.dataset_id, version.version, contract[0], checks
        )
    )
    return checks


def _check_version(
    ws: Workspace, version: DatasetVersion, spec: dict[str, Any]
) -> list[CheckResult]:
    with snapshots.opened(snapshot_path(ws, version)) as scratch:
        return contract_checks.check(scratch, scratch.columns(), spec)


# -- diff --------------------------------------------------------------------------------------


def contract_key(ws: Workspace, name: str) -> str | None:
    """The key column dataset ``name``'s contract names (rows are matched by it in a
    diff); None when there is no contract or it names no key."""
    found = get_contract(ws, name)
    return found[1].get("key") if found else None


def diff(ws: Workspace, reference: str, current: str, key: str | None = None) -> DatasetDiff:
    """Compare two versions (any datasets). ``key`` defaults to the contract's key column."""
    ref_v, cur_v = get_version(ws, reference), get_version(ws, current)
    ref_p, cur_p = get_profile(ws, ref_v), get_profile(ws, cur_v)
    if key is None:
        key = contract_key(ws, cur_v.dataset_name)
    cols_a = tuple(Column(p.name, p.dtype, p.family) for p in ref_p)
    cols_b = tuple(Column(p.name, p.dtype, p.family) for p in cur_p)
    rows = diff_rows(snapshot_path(ws, ref_v), cols_a, snapshot_path(ws, cur_v), cols_b, key)
    return DatasetDiff(
        ref_v, cur_v, _schema_changes(ref_p, cur_p), rows, profile_changes(ref_p, cur_p)
    )


def _schema_changes(
    ref: Sequence[ColumnProfile], cur: Sequence[ColumnProfile]
) -> tuple[SchemaChange, ...]:
    a, b = {p.name: p for p in ref}, {p.name: p for p in cur}
    out = [SchemaChange(n, "removed", a[n].dtype, None) for n in a if n not in b]
    out += [SchemaChange(n, "added", None, b[n].dtype) for n in b if n not in a]
    out += [
        SchemaChange(n, "retyped", a[n].dtype, b[n].dtype)
        for n in a
        if n in b and a[n].dtype != b[n].dtype
    ]
    return tuple(out)


def profile_changes(ref: Sequence[ColumnProfile], cur: Sequence[ColumnProfile]) -> pd.DataFrame:
    """Per shared column, reference and current statistics side by side."""
    b = {p.name: p for p in cur}
    rows = []
    for p in ref:
        c = b.get(p.name)
        if c is None:
            continue
        rows.append(
            {
                "column": p.name,
                "null % (ref)": _pct(p.nulls, p.nulls + p.count),
                "null % (cur)": _pct(c.nulls, c.nulls + c.count),
                "distinct (ref)": _distinct_text(p),
                "distinct (cur)": _distinct_text(c),
                "mean (ref)": p.mean,
                "mean (cur)": c.mean,
                "std (ref)": p.std,
                "std (cur)": c.std,
                "min (ref)": p.min_text,
                "min (cur)": c.min_text,
                "max (ref)": p.max_text,
                "max (cur)": c.max_text,
                "top (ref)": _top(p),
                "top (cur)": _top(c),
            }
        )
    return pd.DataFrame(rows)


def _distinct_text(p: ColumnProfile) -> str:
    return ("" if p.distinct_exact else APPROX) + f"{p.distinct:,}"


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _top(p: ColumnProfile) -> str:
    total = p.count or 1
    return ", ".join(
        f"{v} {100 * n / total:.0f}%"
        for v, n in zip(p.top_values[:3], p.top_counts[:3], strict=True)
    )


def workspace_counts(ws: Workspace) -> tuple[int, int]:
    """(datasets, versions)."""
    return ws.store.read(lambda tx: (len(q.list_datasets(tx)), q.count_versions(tx)))


def recent_versions(ws: Workspace, limit: int = 10) -> list[DatasetVersion]:
    """The ``limit`` most recently registered versions of any dataset, newest first."""
    return ws.store.read(lambda tx: q.recent_versions(tx, limit))
