"""Where the dashboard listens: 127.0.0.1 unless ``scripts/app.sh --public`` says otherwise.

``scripts/app.sh`` runs in a copy of its folder layout whose ``setup.sh`` does nothing and
whose ``streamlit`` writes down the arguments it got; the real-browser test checks that a
server started without ``--server.address`` listens on loopback only (config.toml)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

from tests.app.launch import PROJECT_ROOT

FAKE_STREAMLIT = '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$(dirname "$0")/args.txt"\n'


def test_config_listens_on_loopback_only():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def run_app_sh(tmp_path: Path, *args: str) -> list[str]:
    (tmp_path / "scripts").mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "scripts" / "app.sh", tmp_path / "scripts" / "app.sh")
    (tmp_path / "scripts" / "setup.sh").write_text("exit 0\n")
    streamlit = tmp_path / ".venv" / "bin" / "streamlit"
    streamlit.parent.mkdir(parents=True, exist_ok=True)
    streamlit.write_text(FAKE_STREAMLIT)
    streamlit.chmod(streamlit.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if k != "PLANNER_DB"}
    subprocess.run(
        ["bash", str(tmp_path / "scripts" / "app.sh"), *args], check=True, env=env, timeout=30
    )
    return (streamlit.parent / "args.txt").read_text().splitlines()


def test_app_sh_binds_to_loopback_unless_public(tmp_path):
    local = run_app_sh(tmp_path, "--db", "other.duckdb")
    assert local == ["run", "app.py", "--server.address", "127.0.0.1", "--", "--db", "other.duckdb"]
    public = run_app_sh(tmp_path, "--public", "--db", "o.duckdb")
    assert public == ["run", "app.py", "--server.address", "0.0.0.0", "--", "--db", "o.duckdb"]
    assert run_app_sh(tmp_path) == ["run", "app.py", "--server.address", "127.0.0.1", "--"]
