"""Start the dashboard as a real server on 127.0.0.1 (browser tests, latency bench).

``running_app(db)`` starts ``streamlit run app.py`` on a free port with its own store,
waits for ``/_stcore/health`` and stops the server (only the process it started) on exit.
``chromium_launch_options()`` is how Playwright drives Debian's Chromium here
(``playwright install`` cannot download browsers on this machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str | None:
    """Debian's chromium, if installed."""
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )


def chromium_launch_options() -> dict:
    return {"executable_path": chromium_path(), "args": list(CHROMIUM_ARGS), "headless": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    started_at: float  # time.monotonic() just before the process was started
    healthy_after_s: float  # from start to a healthy /_stcore/health
    log_path: Path
    started_wall: float = 0.0  # time.time() at the same moment (to compare with page clocks)


def _wait_healthy(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"streamlit at {url} not healthy after {timeout_s} s")


@contextmanager
def running_app(
    db_path: str | Path,
    log_dir: str | Path,
    timeout_s: float = 60.0,
    extra_env: dict | None = None,
    script: str | Path = "app.py",
    address: str | None = "127.0.0.1",
) -> Iterator[RunningApp]:
    """``streamlit run app.py -- --db DB`` on a free localhost port, stopped on exit.
    ``address=None`` leaves the listening address to ``.streamlit/config.toml``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(log_dir) / f"streamlit-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        *(["--server.address", address] if address else []),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--",
        "--db",
        str(db_path),
    ]
    env = {**os.environ, **(extra_env or {})}
    env.pop("PLANNER_DB", None)
    with open(log_path, "wb") as log:
        started, started_wall = time.monotonic(), time.time()
        process = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            _wait_healthy(url, process, timeout_s)
            yield RunningApp(
                url, process, started, time.monotonic() - started, log_path, started_wall
            )
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp and tcp6 write them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Until the app's script run has finished (Streamlit's own script-state attribute)."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]',
        state="attached",
        timeout=timeout_ms,
    )
