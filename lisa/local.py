"""Helpers to run the platform's processes on this machine: used by `make bench` and the
integration tests, so both start, probe and clean up the same way."""
import os
import signal
import socket
import subprocess
import time

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from lisa import platform
from shared.db import normalise_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait until `url` answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def stop_group(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM a process started with start_new_session=True and its children."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def rabbitmqctl(*args: str, timeout: float = 60, stdin: str | None = None) -> str:
    """Run RabbitMQ's own CLI (needs root or the rabbitmq user); raises RuntimeError on failure.
    Used for what AMQP cannot do (vhosts, users, permissions) without the management plugin.
    `stdin`: e.g. a password, which then never appears in a process list."""
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                            timeout=timeout, input=stdin)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def drop_databases(admin_url: str, prefix: str) -> None:
    """Drop the per-service PostgreSQL databases `<prefix>_<service>`."""
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as connection:
        for spec in platform.SERVICES:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{spec.name}" '
                                    "WITH (FORCE)"))
    admin.dispose()
