"""Helpers to run the platform's processes on this machine: used by `make bench`, the
integration tests and `make demo`, so all start, probe, key and clean up the same way."""
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from lisa import platform
from shared import config
from shared.db import normalise_url
from shared.identity import SigningKey


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
    """SIGTERM a process started with start_new_session=True and its children (if any is
    left: one that failed to start is gone already)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        process.wait()
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def service_processes(pid: int) -> dict[str, int]:
    """The children of a `lisa.cli run` process, by the service each runs (`service NAME`)."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            arguments = Path(f"/proc/{child}/cmdline").read_text().split("\0")
        except FileNotFoundError:   # exited meanwhile
            continue
        if "service" in arguments[:-1]:
            found[arguments[arguments.index("service") + 1]] = int(child)
    return found


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
        for spec in platform.specs():
            connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{spec.name}" '
                                    "WITH (FORCE)"))
    admin.dispose()


# -- keys (ADR 12) --------------------------------------------------------------------------------

def fresh_keys(keep: dict[str, str] | None = None) -> dict[str, str]:
    """A complete set of keys for a deployment of every registered service: each service's
    Ed25519 signing key, the public keys every process trusts, a Fernet key for content at rest
    and an audience naming the deployment. What `lisa.cli keys` prints, the integration tests and
    the benchmark pass to their processes, and the demo keeps in var/keys.env. Values in `keep`
    stay; the public key list always follows the signing keys."""
    keep = keep or {}
    keys, trusted = {}, []
    for spec in platform.specs():
        variable = config.signing_key_variable(spec.name)
        signing = (SigningKey.from_text(spec.name, keep[variable]) if keep.get(variable)
                   else SigningKey.generate(spec.name))
        keys[variable] = signing.private_text()
        trusted.append(signing.public_entry())
    keys[config.PUBLIC_KEYS_VARIABLE] = ",".join(trusted)
    keys[config.ENCRYPTION_KEYS_VARIABLE] = (keep.get(config.ENCRYPTION_KEYS_VARIABLE)
                                             or Fernet.generate_key().decode())
    keys[config.AUDIENCE_VARIABLE] = (keep.get(config.AUDIENCE_VARIABLE)
                                      or f"lisa-{secrets.token_hex(6)}")
    return keys


def env_file_text(keys: dict[str, str]) -> str:
    sealing = ", ".join(spec.name for spec in platform.specs() if spec.seals_content)
    return ("# LISA keys (ADR 12). Private: give each process only what it needs; every process\n"
            "# needs LISA_IDENTITY_PUBLIC_KEYS and LISA_IDENTITY_AUDIENCE, each service its own\n"
            f"# LISA_<NAME>_SIGNING_KEY, a service that seals content ({sealing})\n"
            "# LISA_ENCRYPTION_KEYS.\n"
            + "".join(f"{name}={value}\n" for name, value in keys.items()))


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines; blank lines and comments skipped."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            pairs[name.strip()] = value.strip()
    return pairs


def demo_keys(directory: Path) -> dict[str, str]:
    """The embedded demo's own keys, made on first use and kept in `directory`/keys.env (mode
    0600), so content it sealed stays readable after a restart."""
    path = directory / "keys.env"
    existing = read_env_file(path) if path.exists() else {}
    keys = fresh_keys(keep=existing)
    if keys != existing:
        partial = path.with_suffix(".tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(env_file_text(keys))
        os.replace(partial, path)
    os.chmod(path, 0o600)
    return keys
