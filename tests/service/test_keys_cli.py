"""No key has a usable default outside the embedded demo (ADR 12): the distributed entrypoints
refuse to start without explicit keys and name what is missing; `lisa.cli keys` prints a
complete set; `make demo` makes its own under var/ and keeps them across restarts."""
import os
import stat
import subprocess
import sys

import pytest

from lisa import platform
from lisa.local import demo_keys, free_port, fresh_keys, read_env_file, stop_group, wait_ready
from shared import identity, sealing
from tests.conftest import ROOT, Api

SERVICES = platform.names()
ALL_KEYS = [f"LISA_{name.upper()}_SIGNING_KEY" for name in SERVICES] + [
    "LISA_IDENTITY_PUBLIC_KEYS", "LISA_ENCRYPTION_KEYS"]


def bare_env(tmp_path, **extra) -> dict:
    """This machine's environment without any LISA_ setting, pointed at nothing real: a
    process that did start would fail on the broker, not succeed by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISA_")}
    env.update({"LISA_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
                "LISA_AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:{free_port()}//",
                "LISA_DATABASE_URL": f"sqlite:///{tmp_path}/{{service}}.db", **extra})
    return env


def lisa(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "lisa.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_make_run_refuses_to_start_without_keys_and_names_every_missing_one(tmp_path):
    result = lisa(bare_env(tmp_path), "run")
    assert result.returncode != 0
    for variable in ALL_KEYS:
        assert variable in result.stderr, result.stderr
    assert "lisa.cli keys" in result.stderr
    assert not list(tmp_path.glob("*.db"))   # refused before touching any database


@pytest.mark.parametrize("name, needed, not_needed", [
    ("tags", ["LISA_TAGS_SIGNING_KEY", "LISA_IDENTITY_PUBLIC_KEYS"],
     ["LISA_GATEWAY_SIGNING_KEY", "LISA_ENCRYPTION_KEYS"]),
    ("referrals", ["LISA_REFERRALS_SIGNING_KEY", "LISA_IDENTITY_PUBLIC_KEYS",
                   "LISA_ENCRYPTION_KEYS"], ["LISA_TAGS_SIGNING_KEY"]),
])
def test_one_service_refuses_to_start_without_its_keys(tmp_path, name, needed, not_needed):
    result = lisa(bare_env(tmp_path), "service", name, timeout=40)
    assert result.returncode != 0
    for variable in needed:
        assert variable in result.stderr, result.stderr
    for variable in not_needed:
        assert variable not in result.stderr


def test_a_service_whose_public_key_nobody_trusts_refuses_to_start(tmp_path):
    keys, other = fresh_keys(), fresh_keys()
    keys["LISA_TAGS_SIGNING_KEY"] = other["LISA_TAGS_SIGNING_KEY"]
    result = lisa(bare_env(tmp_path, **keys), "service", "tags", timeout=40)
    assert result.returncode != 0
    assert "LISA_TAGS_SIGNING_KEY" in result.stderr and "not listed" in result.stderr


def test_the_keys_command_prints_a_complete_fresh_set(tmp_path, monkeypatch):
    first = lisa(bare_env(tmp_path), "keys")
    assert first.returncode == 0, first.stderr
    (tmp_path / "lisa.env").write_text(first.stdout)
    keys = read_env_file(tmp_path / "lisa.env")
    assert set(ALL_KEYS) | {"LISA_IDENTITY_AUDIENCE"} <= set(keys)
    for variable, value in keys.items():
        monkeypatch.setenv(variable, value)
    for name in SERVICES:
        identity.check_configuration(name)
    sealing.check_configuration()
    (tmp_path / "again.env").write_text(lisa(bare_env(tmp_path), "keys").stdout)
    again = read_env_file(tmp_path / "again.env")
    assert all(again[v] != keys[v] for v in ALL_KEYS)


def test_demo_keys_are_made_once_private_and_completed_if_a_service_is_added(tmp_path):
    made = demo_keys(tmp_path)
    path = tmp_path / "keys.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_keys(tmp_path) == made
    lines = [line for line in path.read_text().splitlines()
             if not line.startswith("LISA_TAGS_SIGNING_KEY=")]
    path.write_text("\n".join(lines) + "\n")   # as if tags had just been registered
    completed = demo_keys(tmp_path)
    assert completed["LISA_TAGS_SIGNING_KEY"] != made["LISA_TAGS_SIGNING_KEY"]
    assert {k: v for k, v in completed.items()
            if k not in ("LISA_TAGS_SIGNING_KEY", "LISA_IDENTITY_PUBLIC_KEYS")} == \
        {k: v for k, v in made.items()
         if k not in ("LISA_TAGS_SIGNING_KEY", "LISA_IDENTITY_PUBLIC_KEYS")}
    assert read_env_file(path) == completed


def start_demo(tmp_path, port):
    env = bare_env(tmp_path, LISA_HTTP_PORT=str(port), LISA_LOG_LEVEL="WARNING")
    for variable in ("LISA_AMQP_URI", "LISA_DATABASE_URL"):
        env.pop(variable)
    log = open(tmp_path / "demo.log", "a")
    process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "demo"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    return process, log


def test_make_demo_makes_its_own_keys_under_var_and_reuses_them(tmp_path):
    port = free_port()
    process, log = start_demo(tmp_path, port)
    try:
        api = Api(f"http://127.0.0.1:{port}/")
        referral = api.call("GET", "/api/v1/referrals?box=outbox", "streetworker"
                            ).json()["items"][0]
        content = api.call("GET", f"/api/v1/referrals/{referral['id']}", "streetworker"
                           ).json()["content"]
        assert content["message"]
    finally:
        stop_group(process)
        log.close()
    path = tmp_path / "keys.env"
    keys = read_env_file(path)
    assert set(ALL_KEYS) <= set(keys) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys["LISA_GATEWAY_SIGNING_KEY"] not in (tmp_path / "demo.log").read_text()

    process, log = start_demo(tmp_path, port)   # restarted: same keys, content still readable
    try:
        again = Api(f"http://127.0.0.1:{port}/").call(
            "GET", f"/api/v1/referrals/{referral['id']}", "streetworker")
        assert again.status_code == 200 and again.json()["content"] == content
    finally:
        stop_group(process)
        log.close()
    assert read_env_file(path) == keys
