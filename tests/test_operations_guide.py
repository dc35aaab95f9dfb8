"""Issue #16: the operations guide's `users add` and `backup` had no --workspace, so run
from the install folder after `make run` they acted on the demo in ./workspace without
naming it. The guide's commands run here, in the order written, as real processes, from
an install folder whose ./workspace is a trap: each must act on the workspace it names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import PYTHON, ROOT, subprocess_env
from workbench.store.workspace import Workspace

GUIDE = ROOT / "docs" / "operations.md"
PASSWORD = "correct horse battery"
NOT_HERE = ("git ", "make ", "systemctl ", "ui ", "serve ")  # the install, the servers


def guide_commands() -> list[str]:
    """Every `workbench` command of the guide's console blocks, in order, without its
    comment."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", GUIDE.read_text(), flags=re.S):
        for line in block.splitlines():
            if line.startswith(("$ workbench ", "$ .venv/bin/workbench ")):
                out.append(line[2:].split("  #")[0].strip())
    return out


def test_every_guide_command_names_its_workspace() -> None:
    commands = guide_commands()
    assert len(commands) >= 10
    for command in commands:
        if " restore " in f" {command} ":  # restore's target folder is the workspace
            continue
        assert "--workspace /srv/wb-data " in command, command


def test_the_guide_runs_in_order_on_the_workspace_it_names(tmp_path: Path) -> None:
    install = tmp_path / "install"  # where `make run` left the demo in ./workspace
    trap = Workspace.open(install / "workspace")
    trap.store.close()
    before = (install / "workspace" / "meta.duckdb").read_bytes()
    data, backups = tmp_path / "wb-data", tmp_path / "backups"
    backups.mkdir()
    env = subprocess_env(tmp_path)
    del env["WORKBENCH_WORKSPACE"]  # as on the server: nothing but what the command names
    ran = []
    for command in guide_commands():
        words = command.replace(".venv/bin/workbench", "workbench").split()
        if " ".join(words[3:]).startswith(NOT_HERE):
            continue
        line = (
            " ".join(words)
            .replace("$(date +%F)", "2026-11-23")
            .replace("/srv/wb-data", str(data))
            .replace("/srv/wb-restored", str(tmp_path / "restored"))
            .replace("/backups", str(backups))
        )
        args = line.split()[1:]
        if args[2:3] == ["users"] and args[3] in ("add", "reset-password"):
            args.append("--password-stdin")  # the guide's prompt, typed here
        done = subprocess.run(
            [PYTHON, "-m", "workbench.cli", *args],
            cwd=install,
            env=env,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        ran.append(" ".join(args[2:4]) if args[0] == "--workspace" else args[0])
    assert ran[:3] == ["users add", "users add", "users set-role"], ran
    assert "restore" in ran and any(r.startswith("backup") for r in ran), ran
    assert any(r.startswith("doctor") for r in ran), ran
    from workbench.team import auth, tokens

    ws = Workspace.open(data)
    assert {u.name for u in auth.list_users(ws)} == {"ada", "ed"}
    assert [t.name for t in tokens.list_tokens(ws) if not t.active] == ["billing-service"]
    assert (install / "workspace" / "meta.duckdb").read_bytes() == before  # untouched
    assert (backups / "wb-2026-11-23.tar.gz").is_file() and (tmp_path / "restored").is_dir()
