"""`make bench-login`: does password hashing stall the gateway? GET /me latency of one client
while six others keep failing to log in, on the embedded demo (as the issue reproduced it).

Three runs of the demo: idle, six failing-login clients with the login throttle as configured
(after 5 failures they are answered 429 without hashing), and the same with the throttle
lifted, so every attempt costs a password hash. Writes bench/login_results.md and the table in
the README.
"""
import os
import platform as host_platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.pipeline import percentile
from lisa.local import free_port, stop_group, wait_ready

ROOT = Path(__file__).resolve().parent.parent
FAILING_CLIENTS = int(os.environ.get("LISA_BENCH_FAILING_CLIENTS", "6"))
ME_REQUESTS = int(os.environ.get("LISA_BENCH_ME_REQUESTS", "200"))
WARM_UP_SECONDS = 2.0
NO_THROTTLE = {"LISA_LOGIN_MAX_FAILURES": "1000000000",
               "LISA_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000000"}


def start_demo(tmp: Path, extra_env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LISA_VAR_DIR": str(tmp), "LISA_HTTP_PORT": str(port),
           "LISA_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), **extra_env}
    env.pop("LISA_AMQP_URI", None)
    env.pop("LISA_DATABASE_URL", None)
    log = open(tmp / "demo.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "demo"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/readyz", process)
    return process, base


def failing_logins(base: str, stop: threading.Event, answers: list) -> None:
    with requests.Session() as session:
        while not stop.is_set():
            response = session.post(f"{base}/api/v1/auth/token", timeout=60,
                                    json={"username": "desk", "password": "not-the-password"})
            answers.append(response.status_code)


def me_latencies(base: str, token: str) -> list[float]:
    latencies = []
    with requests.Session() as session:
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(ME_REQUESTS):
            started = time.perf_counter()
            response = session.get(f"{base}/api/v1/me", headers=headers, timeout=60)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return latencies


def measure(label: str, clients: int, extra_env: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        process, base = start_demo(Path(tmp), extra_env)
        try:
            token = requests.post(f"{base}/api/v1/auth/token", timeout=60,
                                  json={"username": "coordinator", "password": "demo"}
                                  ).json()["access_token"]
            stop, answers = threading.Event(), []
            threads = [threading.Thread(target=failing_logins, args=(base, stop, answers))
                       for _ in range(clients)]
            for thread in threads:
                thread.start()
            if clients:
                time.sleep(WARM_UP_SECONDS)
            latencies = me_latencies(base, token)
            stop.set()
            for thread in threads:
                thread.join()
        finally:
            stop_group(process)
    statuses = {code: answers.count(code) for code in sorted(set(answers))}
    print(f"{label}: p50 {percentile(latencies, 50):.1f} ms, p95 "
          f"{percentile(latencies, 95):.1f} ms; login answers {statuses}", flush=True)
    return {"label": label, "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95), "statuses": statuses}


def main():
    runs = [measure("idle", 0, {}),
            measure(f"{FAILING_CLIENTS} failing-login clients, throttle on", FAILING_CLIENTS, {}),
            measure(f"{FAILING_CLIENTS} failing-login clients, throttle lifted (every attempt "
                    "hashed)", FAILING_CLIENTS, NO_THROTTLE)]
    rows = "\n".join(f"| {r['label']} | {r['p50']:.1f} | {r['p95']:.1f} | "
                     f"{', '.join(f'{k}: {v}' for k, v in r['statuses'].items()) or '-'} |"
                     for r in runs)
    table = ("| load | GET /me p50, ms | GET /me p95, ms | login answers |\n|---|---|---|---|\n"
             f"{rows}\n")
    text = (f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {os.cpu_count()} cores, "
            f"Python {host_platform.python_version()}, embedded demo, {ME_REQUESTS} sequential "
            f"GET /api/v1/me per run.\n\n{table}")
    (ROOT / "bench" / "login_results.md").write_text(text)
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- login-bench:start -->", "<!-- login-bench:end -->"
    if start in readme and end in readme:
        head, rest = readme.split(start, 1)
        (ROOT / "README.md").write_text(f"{head}{start}\n{table}{end}{rest.split(end, 1)[1]}")
    print(text)


if __name__ == "__main__":
    main()
