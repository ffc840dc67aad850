"""Run the portal under gunicorn (and other servers) as real processes: e2e and load tests, bench/."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Block until something accepts connections on port, or fail with the process output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {_output(process)}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start in {timeout}s")


def _output(process: subprocess.Popen) -> str:
    log = getattr(process, "log_path", None)
    return Path(log).read_text()[-4000:] if log and Path(log).exists() else ""


def portal_env(database_url: str, base_url: str, **extra: str) -> dict:
    """Environment for a portal process: PORTAL_* settings, no inherited PORTAL_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({"PORTAL_DATABASE_URL": database_url, "PORTAL_BASE_URL": base_url,
                "PORTAL_SECRET_KEY": "e2e-secret-key", "FLASK_APP": "wsgi", **extra})
    return env


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run a `flask ...` command against env; raise with its output on failure."""
    result = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed: {result.stderr}{result.stdout}")
    return result


def start_gunicorn(env: dict, port: int, log_path: Path, workers: int = 2, threads: int = 1) -> subprocess.Popen:
    """Start gunicorn serving wsgi:app on 127.0.0.1:port; returns once it accepts connections."""
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
             "--threads", str(threads), "--graceful-timeout", "5", "--timeout", "60", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_path = str(log_path)
    wait_for_port(port, process)
    return process


def stop(process: subprocess.Popen) -> None:
    """Stop a server process group started by this module."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextmanager
def scratch_database(tmp_path: Path, name: str):
    """URL of an empty database of its own: a SQLite file, or a new PostgreSQL database when
    PORTAL_TEST_DATABASE_URL points at PostgreSQL (dropped afterwards)."""
    pg_url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not pg_url:
        yield f"sqlite:///{tmp_path / (name + '.sqlite3')}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    database = f"portal_{name}_{uuid.uuid4().hex[:8]}"
    url = make_url(pg_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
