"""The project as a newcomer meets it: an installed `tiedui` command, README examples that run as
written, and a documented profile file format with an example that `check` accepts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest

from knowledge.profile import CHANGE_KINDS, DISTRICTS, INCIDENT_KINDS, TIERS, ProfileError, load_profile_file, parse_profile

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SAFE = ("ask", "kb", "check")   # read-only: no database, no network


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def test_pyproject_declares_the_project_and_the_tiedui_command():
    project = PYPROJECT["project"]
    assert project["name"] and project["version"] and project["requires-python"] == ">=3.11"
    assert project["scripts"] == {"tiedui": "bot.cli:main"}


def test_pyproject_dependencies_are_pinned_as_in_requirements():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"\[.*\]", "", name).lower()] = line
    for dependency in PYPROJECT["project"]["dependencies"]:
        name = re.sub(r"\[.*\]", "", dependency.partition("==")[0]).lower()
        assert pins.get(name) == dependency, f"{dependency} is not pinned so in requirements.txt"


def test_the_makefile_installs_the_project_editable_after_the_requirements():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    requirements = makefile.index("pip install --quiet --disable-pip-version-check -r requirements.txt")
    editable = makefile.index("pip install --quiet --disable-pip-version-check -e . --no-deps")
    assert requirements < editable
    assert re.search(r"^\$\(STAMP\): requirements\.txt pyproject\.toml$", makefile, re.M)


def readme_examples() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", section("Command line"), re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if ".venv/bin/tiedui" in line]


def subcommand(line: str) -> str:
    return line.split(".venv/bin/tiedui", 1)[1].split()[0]


def test_the_readme_uses_the_console_script_for_every_command():
    examples = readme_examples()
    assert examples and all(line.startswith(".venv/bin/tiedui") or "| .venv/bin/tiedui" in line
                            for line in examples)
    assert "python -m bot ask" not in section("Command line")
    named = {subcommand(line) for line in examples}
    assert {"chat", "telegram", "ask", "kb", "check", "profile", "subscribe", "reminders", "staff", "broadcast",
            "audit"} <= named


SAFE_EXAMPLES = [line for line in readme_examples() if subcommand(line) in SAFE]


def test_the_safe_examples_include_each_kind():
    joined = "\n".join(SAFE_EXAMPLES)
    for needed in ("tiedui ask ", "tiedui kb check", "tiedui kb show", "tiedui check examples/profile.json"):
        assert needed in joined


@pytest.mark.parametrize("line", SAFE_EXAMPLES)
def test_each_safe_readme_example_runs_as_written(line):
    """Through the console script `make test` installed, from the repository's folder."""
    assert (ROOT / ".venv" / "bin" / "tiedui").exists(), "run `make test`: it installs .venv/bin/tiedui"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    p = subprocess.run(line, shell=True, executable="/bin/bash", cwd=ROOT, capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() and "Traceback" not in p.stderr


def test_the_example_profile_is_a_realistic_haidian_enterprise_that_check_accepts():
    profile = load_profile_file(ROOT / "examples" / "profile.json", date.today())
    assert profile.district == "海淀区" and profile.name and profile.titles and profile.changes and profile.plans
    p = subprocess.run([sys.executable, "-m", "bot", "check", "examples/profile.json", "--today", "2026-05-20"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert p.returncode == 0, p.stderr
    assert "企业：北京" in p.stdout and "依据：通知" in p.stdout


def test_check_help_points_to_the_example_and_the_format():
    p = subprocess.run([sys.executable, "-m", "bot", "check", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert "examples/profile.json" in p.stdout and "README" in p.stdout


def allowed_fields(data: dict) -> list[str]:
    """The fields the parser allows where `data` put an unknown one: the parser's own list."""
    with pytest.raises(ProfileError) as exc:
        parse_profile(data, date(2026, 11, 25))
    return exc.value.message.split("可用字段：")[1].split("、")


NESTED = {
    "titles": {"district": "海淀区", "titles": [{"zz": 1}]},
    "changes": {"district": "海淀区", "changes": [{"zz": 1}]},
    "incidents": {"district": "海淀区", "incidents": [{"zz": 1}]},
    "application": {"district": "海淀区", "application": {"zz": 1}},
}


def test_the_readme_documents_every_field_of_the_profile_file():
    table = section("The profile file")
    fields = allowed_fields({"district": "海淀区", "zz": 1})
    assert "titles" in fields and "name" in fields
    documented = set(re.findall(r"^\| `([a-z_.\[\]]+)` \|", table, re.M))
    for field in fields:
        assert field in documented, f"README does not document {field}"
    for parent, data in NESTED.items():
        sep = "." if parent == "application" else "[]."
        for field in allowed_fields(data):
            assert f"{parent}{sep}{field}" in documented, f"README does not document {parent}{sep}{field}"
    for value in (*TIERS, *CHANGE_KINDS, *INCIDENT_KINDS, *DISTRICTS):
        assert value in table, f"README does not name {value}"
