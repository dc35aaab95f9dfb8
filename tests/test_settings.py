"""Where the workspace is, and the environment knobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.settings import Settings, workspace_path
from workbench.store.errors import InvalidInput
from workbench.workspaces import forget, open_workspace


def test_default_workspace_is_found_from_a_subfolder(tmp_path: Path, monkeypatch) -> None:
    """A notebook in project/notebooks/ logs into project/workspace, where the app reads."""
    monkeypatch.delenv("WORKBENCH_WORKSPACE", raising=False)
    project = tmp_path / "project"
    (project / "notebooks" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project)
    assert workspace_path() == project / "workspace"  # nothing yet: ./workspace
    open_workspace()
    monkeypatch.chdir(project / "notebooks" / "deep")
    assert workspace_path() == project / "workspace"
    assert workspace_path("elsewhere") == project / "notebooks" / "deep" / "elsewhere"
    forget(project / "workspace")


def test_environment_variable_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path / "team"))
    assert workspace_path() == tmp_path / "team"


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_bad_seconds_setting_is_a_clear_error(monkeypatch, value: str) -> None:
    monkeypatch.setenv("WORKBENCH_HEARTBEAT_TIMEOUT", value)
    with pytest.raises(InvalidInput, match=f"WORKBENCH_HEARTBEAT_TIMEOUT must be .*{value}"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKBENCH_SESSION_HOURS", "nan"),  # a newcomer's find: every login then failed
        ("WORKBENCH_SESSION_HOURS", "1e9"),  # (a bug message at each try)
        ("WORKBENCH_SESSION_HOURS", "0"),
        ("WORKBENCH_HEARTBEAT_TIMEOUT", "inf"),
        ("WORKBENCH_MAX_UPLOAD_MB", "-inf"),
        ("WORKBENCH_WORKERS", "1e300"),
    ],
)
def test_a_number_setting_outside_its_range_is_refused_at_start(
    monkeypatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidInput, match=rf"{name} must be .* at most .*got '{value}'"):
        Settings.from_env()
