"""Each user's journey through the web pages in headless Chromium, at a 1024x768 tablet and a
390x844 phone viewport, against the running demo platform. Each journey runs in a process of
its own (tests/browser/journeys.py says why); every page is checked with axe-core and saved as
a screenshot under var/screenshots/."""
import subprocess
import sys

import pytest

from tests.browser.conftest import CHROMIUM, ROOT, VIEWPORTS
from tests.browser.journeys import JOURNEYS


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_journey(demo_site, journey, viewport):
    done = subprocess.run([sys.executable, "-m", "tests.browser.journeys", demo_site, journey,
                           viewport, CHROMIUM], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{journey} at {viewport}:\n{done.stdout}\n{done.stderr}"
