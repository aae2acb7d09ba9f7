"""Say only what is true: README's configuration table documents every setting the platform
reads and nothing else; only the settings read the environment; every ADR a file names
exists."""
import re
from pathlib import Path

from lisa import platform
from shared import config
from shared.config import Setting

ROOT = Path(__file__).resolve().parents[2]


def _configuration_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(LISA_[A-Z_<>]+)`", row)}


def test_the_readme_documents_every_setting_and_only_settings_that_exist():
    declared = {setting.variable for setting in platform.settings()}
    documented = _configuration_table()
    assert declared - documented == set(), "settings the README's table does not document"
    assert documented - declared == set(), "the README documents settings nothing reads"


def test_no_module_reads_the_environment_but_the_settings():
    readers = []
    for path in [*ROOT.glob("shared/*.py"), *ROOT.glob("services/**/*.py"),
                 *ROOT.glob("lisa/*.py")]:
        text = path.read_text()
        if re.search(r"os\.environ\.get|os\.getenv|os\.environ\[", text) and \
                path != ROOT / "shared" / "config.py":
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []
    assert config.SETTINGS and all(isinstance(s, Setting) for s in config.SETTINGS)


def test_every_adr_a_file_names_exists():
    named = set()
    for path in [*ROOT.glob("*.md"), *ROOT.glob("docs/**/*.md"), *ROOT.glob("shared/*.py"),
                 *ROOT.glob("services/**/*.py"), *ROOT.glob("lisa/*.py"),
                 *ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]:
        named |= set(re.findall(r"docs/adr/(\d{4}-[a-z0-9-]+\.md)", path.read_text()))
    assert named, "the pattern finds the references"
    missing = {name for name in named if not (ROOT / "docs" / "adr" / name).is_file()}
    assert missing == set()
