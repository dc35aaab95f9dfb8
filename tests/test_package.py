"""One import package, ``workbench``: ``import workbench as wb`` is the notebook API, it stays
light, and it works in a user's project that has folders of its own named ``app`` and
``store`` (a Flask or FastAPI ``app/``, a Django app), which a top-level ``app`` or ``store``
package of ours would collide with."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from tests.conftest import PYTHON, ROOT, subprocess_env
from workbench import sdk
from workbench.store.workspace import Workspace
from workbench.tracking import experiments


def user_env(workspace: Path) -> dict[str, str]:
    """A user's environment: the installed package only (the tests' own PYTHONPATH, which
    puts this checkout's root and with it the app/ and store/ folders on the path, is
    dropped)."""
    env = subprocess_env(workspace)
    env.pop("PYTHONPATH")
    return env


def run_python(code: str, cwd: Path, workspace: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=user_env(workspace),
    )


def test_a_notebook_beside_its_own_app_and_store_folders_logs_a_run(tmp_path: Path) -> None:
    """The user's project has packages named ``app`` and ``store`` (each refuses to be
    imported by anyone but the user); the notebook-style script in that folder runs with the
    folder first on sys.path, as Jupyter and ``python script.py`` put it."""
    project = tmp_path / "project"
    for name in ("app", "store"):
        (project / name).mkdir(parents=True)
        (project / name / "__init__.py").write_text(
            f"raise ImportError('the user\\'s own {name} package was imported by the workbench')\n"
        )
    (project / "app" / "sdk.py").write_text("raise ImportError('user app.sdk')\n")
    (project / "store" / "errors.py").write_text("raise ImportError('user store.errors')\n")
    script = project / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import workbench as wb

            with wb.start_run(experiment="beside", name="own-folders") as run:
                run.log_params({"alpha": 0.5})
                run.log_metric("rmse", 1.25)
            print(run.run_id)
            """
        )
    )
    workspace = tmp_path / "ws"
    out = subprocess.run(
        [PYTHON, str(script)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=user_env(workspace),
    )
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip()
    ws = Workspace.open(workspace)
    detail = experiments.get_run(ws, run_id)
    assert detail.run.name == "own-folders" and detail.run.status == "finished"
    assert detail.params == {"alpha": 0.5} and detail.metrics["rmse"].last_value == 1.25


def test_nothing_named_app_or_store_is_installed(tmp_path: Path) -> None:
    """From a folder without them, ``app`` and ``store`` are not importable: the install
    puts one top-level package, ``workbench``, on the path."""
    out = run_python(
        """
        import importlib.util, json
        print(json.dumps({n: importlib.util.find_spec(n) is not None
                          for n in ("app", "store", "pages", "workbench", "workbench.store",
                                    "workbench.pages")}))
        """,
        tmp_path,
        tmp_path / "ws",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "app": False,
        "store": False,
        "pages": False,
        "workbench": True,
        "workbench.store": True,
        "workbench.pages": True,
    }


def test_import_workbench_is_light(tmp_path: Path) -> None:
    """``import workbench`` imports neither pandas, scikit-learn, duckdb nor streamlit; the
    first SDK name used brings the SDK (and pandas), still no scikit-learn."""
    out = run_python(
        """
        import json, sys
        heavy = ("pandas", "sklearn", "duckdb", "streamlit", "plotly")
        import workbench as wb
        before = sorted(m for m in heavy if m in sys.modules)
        wb.start_run
        after = sorted(m for m in heavy if m in sys.modules)
        print(json.dumps([before, after]))
        """,
        tmp_path,
        tmp_path / "ws",
    )
    assert out.returncode == 0, out.stderr
    before, after = json.loads(out.stdout)
    assert before == []
    assert "pandas" in after and "sklearn" not in after


def test_the_package_exports_the_sdk_and_nothing_else(tmp_path: Path) -> None:
    """Every SDK name, also after every submodule is imported (a submodule named like an SDK
    function, ``workbench.workspace`` against ``wb.workspace()``, would replace it)."""
    import workbench.cli.main
    import workbench.demo
    import workbench.ui.data

    assert set(workbench.__all__) == set(sdk.__all__)
    for name in sdk.__all__:
        assert getattr(workbench, name) is getattr(sdk, name)
    assert set(sdk.__all__) <= set(dir(workbench))
    out = run_python(
        "import workbench\ntry:\n    workbench.no_such_thing\nexcept AttributeError as e:\n"
        "    print(e)\n",
        tmp_path,
        tmp_path / "ws",
    )
    assert out.stdout.strip() == "module 'workbench' has no attribute 'no_such_thing'"


def test_the_app_entry_script_stands_alone_in_its_folder() -> None:
    """``streamlit run`` puts the entry script's folder first on the server's sys.path: any
    module beside it would shadow an installed package of the same name (a ``datasets.py``
    against Hugging Face's ``datasets``), so the folder holds the script alone."""
    folder = ROOT / "app" / "ui" / "entry"
    beside = {p.name for p in folder.iterdir()} - {"__pycache__"}
    assert beside == {"main.py"}


def test_no_module_of_the_package_is_named_like_an_sdk_function() -> None:
    """Importing ``workbench.X`` sets the attribute ``X`` of the package: a module named like
    an SDK function would replace ``wb.X`` for every notebook that imported it first."""
    children = {p.stem for p in (ROOT / "app").glob("*.py")} | {
        p.name for p in (ROOT / "app").iterdir() if (p / "__init__.py").exists()
    }
    assert children & set(sdk.__all__) == set()


def test_users_catch_errors_from_workbench_errors() -> None:
    """``workbench.errors`` is the storage layer's errors under a user's name: the same
    classes, so ``except workbench.errors.NotFound`` catches what every door raises."""
    import workbench.errors
    import workbench.store.errors

    for name in workbench.errors.__all__:
        assert getattr(workbench.errors, name) is getattr(workbench.store.errors, name)
        assert issubclass(getattr(workbench.errors, name), workbench.errors.WorkbenchError)


def test_every_library_imported_is_declared() -> None:
    """Each third-party module the package imports (at any depth) comes from a distribution
    that pyproject.toml declares: a dependency, or an optional one for its extra (dask)."""
    import ast
    import importlib.metadata
    import re
    import sys
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"]]
    for extra, deps in project["optional-dependencies"].items():
        if extra not in ("test", "bench-mlflow"):
            declared += deps

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    declared_names = {norm(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]) for d in declared}
    providers = importlib.metadata.packages_distributions()
    imported: dict[str, str] = {}
    for folder in ("app", "store", "pages"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top != "workbench":
                        imported.setdefault(top, str(path.relative_to(ROOT)))
    assert {"pandas", "duckdb", "sklearn", "jinja2", "scipy", "starlette"} <= set(imported)
    undeclared = {
        top: where
        for top, where in imported.items()
        if not {norm(d) for d in providers.get(top, [top])} & declared_names
    }
    assert undeclared == {}, "declare these in pyproject.toml's dependencies"


def test_the_wheel_ships_the_package_whole(tmp_path: Path) -> None:
    """A non-editable install gets everything the app opens by path: the pages, the entry
    script, the templates, the schema snapshot, the demo's data; and no top-level ``app``,
    ``store``, ``pages`` or ``sample_data``. Built from a copy of the tracked files (a build
    writes build/ beside its sources)."""
    import shutil
    import zipfile

    source = tmp_path / "src"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for rel in tracked:
        if (ROOT / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, source / rel)
    uv = Path(PYTHON).with_name("uv")
    subprocess.run(
        [str(uv), "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"workbench"}
    for page in (ROOT / "pages").glob("*.py"):
        assert f"workbench/pages/{page.name}" in names
    assert {
        "workbench/ui/entry/main.py",
        "workbench/ui/favicon.png",
        "workbench/store/schema.sql",
        "workbench/registry/templates/model_card.md",
        "workbench/registry/templates/model_card.html",
        "workbench/drift/templates/report.html.j2",
        "workbench/sample_data/churn/2026-04.csv",
        "workbench/sample_data/classic/iris.csv",
    } <= names
    entry = wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"
    points = zipfile.ZipFile(wheel).read(f"{entry}/entry_points.txt").decode()
    assert "workbench = workbench.cli.main:main" in points


def test_a_notebook_reaches_the_domain_packages_and_sees_no_internals(tmp_path: Path) -> None:
    """After a bare ``import workbench as wb``: ``wb.errors.NotFound`` works (it raised
    AttributeError unless something had imported the module first), ``dir(wb)`` lists the
    SDK and the domain packages, not the module's own imports, and the workspace says where
    it is."""
    out = run_python(
        """
        import json
        import workbench as wb
        try:
            wb.load_dataset("nothing@v1")
        except wb.errors.NotFound as e:
            caught = type(e).__name__
        names = dir(wb)
        print(json.dumps([caught, "Any" in names or "importlib" in names,
                          "errors" in names and "start_run" in names, repr(wb.workspace())]))
        """,
        tmp_path,
        tmp_path / "ws",
    )
    assert out.returncode == 0, out.stderr
    caught, internals, listed, shown = json.loads(out.stdout)
    assert caught == "NotFound" and not internals and listed
    assert shown == f"Workspace({str(tmp_path / 'ws')!r})"
