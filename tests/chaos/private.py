"""A private RabbitMQ node and a private PostgreSQL cluster for the chaos run, so it can restart
them without touching the broker and database this machine shares (ADR 33).

RabbitMQ: a second node of Debian's rabbitmq-server (`RABBITMQ_NODENAME=lisa-chaos-<port>`),
its ports, data, logs and configuration in a temporary directory owned by the rabbitmq user;
`rabbitmqctl` reaches it through RABBITMQ_NODENAME in its environment (also what
`lisa.cli broker-setup` runs). PostgreSQL: a cluster made with initdb, as the postgres user when
this runs as root, listening on 127.0.0.1 and a socket in the same directory.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from lisa.local import free_port


def _as(user: str) -> list[str]:
    """Run as `user` when we are root (initdb refuses root; rabbitmq's scripts switch already)."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _chown(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(name, entry.pw_uid, entry.pw_gid)


def available() -> str | None:
    """Why the private broker and database cannot be made here, or None."""
    if not shutil.which("rabbitmq-server") or not shutil.which("rabbitmqctl"):
        return "rabbitmq-server is not installed (Debian package rabbitmq-server)"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "PostgreSQL's server binaries are not installed (Debian package postgresql)"
    return None


class PrivateRabbit:
    def __init__(self, base: Path):
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"lisa-chaos-{self.port}@localhost"
        self.dir = base / "rabbitmq"
        self.dir.mkdir(parents=True)
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        _chown(self.dir, "rabbitmq")
        self.env = {**os.environ, "RABBITMQ_NODENAME": self.node,
                    "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(self.dist_port),
                    "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(self.dir / "log"),
                    "RABBITMQ_PID_FILE": str(self.dir / "pid"),
                    "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins")}

    @property
    def uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}//"

    def ctl(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run(["rabbitmqctl", "-q", "-n", self.node, *args], env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def start(self) -> None:
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env, check=True,
                       cwd=self.dir, timeout=60)
        deadline = time.monotonic() + 180
        while True:   # the node registers with epmd a moment after -detached returns
            try:
                self.ctl("await_startup", "--timeout", "180")
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def restart(self, down_seconds: float = 2.0) -> None:
        """The broker application stops (every connection dropped) and comes back."""
        self.ctl("stop_app")
        try:
            time.sleep(down_seconds)
        finally:
            self.ctl("start_app")
            self.ctl("await_startup")

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup")

    def stop(self) -> None:
        try:
            self.ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pid = (self.dir / "pid").read_text().strip() if (self.dir / "pid").exists() else ""
            if pid.isdigit():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass


class PrivatePostgres:
    def __init__(self, base: Path):
        self.port = free_port()
        self.dir = base / "postgresql"
        self.dir.mkdir(parents=True)
        _chown(self.dir, "postgres")
        bin_dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                          key=lambda p: int(p.split("/")[-2]))
        self.bin = Path(bin_dirs[-1])
        self.data = self.dir / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, prefix: str = "lisa") -> str:
        """LISA_DATABASE_URL: one database per service, `<prefix>_<service>`."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{prefix}_{{service}}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run([*_as("postgres"), str(self.bin / "pg_ctl"), "-D", str(self.data),
                        "-l", str(self.dir / "log"), "-w", "-t", "120", *args],
                       check=True, capture_output=True, timeout=180)

    def start(self) -> None:
        subprocess.run([*_as("postgres"), str(self.bin / "initdb"), "-D", str(self.data),
                        "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, timeout=180)
        # fsync off: this cluster is thrown away; a restart is a clean shutdown (-m fast), so
        # no acknowledged commit is lost by it.
        self._pg_ctl("-o", self.options, "start")

    @property
    def options(self) -> str:
        return (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c max_connections=300")

    def stop_only(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start_again(self) -> None:
        self._pg_ctl("-o", self.options, "start")

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        try:
            self._pg_ctl("-m", "immediate", "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass


def temporary_base() -> Path:
    """World-traversable, so the rabbitmq and postgres users reach their folders in it."""
    base = Path(tempfile.mkdtemp(prefix="lisa-chaos-"))
    base.chmod(0o755)
    return base
