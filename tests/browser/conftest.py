"""Browser tests of the web pages: headless Chromium (Debian's `chromium`) driven by Playwright
for Python against an embedded platform with the demo data, started as `make demo` starts it,
on a free port. docs/adr/0029-browser-tests-and-accessibility.md.

Outside CI a missing chromium or playwright skips these tests, saying what to install; with
CI=true it is a failure."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lisa.local import free_port, stop_group, wait_ready

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LISA_CHROMIUM", "/usr/bin/chromium")
VIEWPORTS = ("tablet", "phone")  # 1024x768, 390x844 (tests/browser/journeys.py)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="session")
def chromium():
    """Skip (or, in CI, fail) when the browser or its driver is missing."""
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(f"browser tests skipped: {missing}")
    return CHROMIUM


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory, chromium):
    """`python -m lisa.cli demo` (the embedded platform with the demo antenna) on a free port,
    its var directory its own; the base URL."""
    port = free_port()
    var = tmp_path_factory.mktemp("browser-demo")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("LISA_") or key == "LISA_CHROMIUM"}
    env.update({"LISA_VAR_DIR": str(var), "LISA_HTTP_PORT": str(port),
                "LISA_LOG_LEVEL": "WARNING"})
    log = (var / "demo.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "demo"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", process, timeout=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(process)
        log.close()


