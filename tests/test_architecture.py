"""The project's own promises about its structure and its configuration."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import DEFAULT_CONFIG, SETTINGS, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_only_bot_imports_telegram():
    code = ("import sys, pkgutil, importlib\n"
            "import knowledge, reminders\n"
            "for pkg in (knowledge, reminders):\n"
            "    for m in pkgutil.iter_modules(pkg.__path__):\n"
            "        importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
            "print(sorted(n for n in sys.modules if n == 'telegram' or n.startswith('telegram.')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_nothing_reads_the_shared_folder():
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or path == Path(__file__).resolve():
            continue
        assert "../shared" not in path.read_text(encoding="utf-8"), path


def test_config_toml_sets_and_comments_every_setting():
    raw = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    for s in SETTINGS:
        assert s.key in raw.get(s.section, {}) or f"[{s.section}.{s.key}]" in text or s.section == "windows", \
            f"config.toml lacks [{s.section}] {s.key}"
    for section in {s.section for s in SETTINGS}:
        block = re.split(rf"^\[{section}[\].]", text, maxsplit=1, flags=re.M)
        assert len(block) == 2 and "#" in block[0][-400:] + block[1][:400], f"[{section}] has no comment"


def test_readme_documents_every_setting_and_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for s in SETTINGS:
        assert f"{s.section}.{s.key}" in readme, f"README does not document {s.section}.{s.key}"
    from bot.dialogue.core import COMMANDS

    for c in COMMANDS:
        assert f"/{c.name}" in readme, f"README does not mention /{c.name}"


@pytest.mark.parametrize("body, field", [
    ("[matching]\nanswer_threshold = 'x'\n", "answer_threshold"),
    ("[matching]\nbogus = 1\n", "bogus"),
    ("[general]\ntimezone = 'Mars/Olympus'\n", "timezone"),
    ("[telegram]\nmode = 'carrier-pigeon'\n", "mode"),
    ("[telegram]\nmode = 'webhook'\n", "webhook_url"),
    ("[staff]\nadmins = ['alice']\n", "admins"),
    ("[reminders]\nreplan_time = '25:00'\n", "replan_time"),
    ("[calendar]\nextra_holidays = ['2027-01-01']\n", "extra_holidays"),
    ("[windows.giant.2027]\nstart = 2027-05-01\n", "windows.giant.2027"),
    ("not toml at all [", "格式有误"),
])
def test_a_wrong_setting_is_refused_naming_it(tmp_path, body, field):
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config(path, environ={})


def test_environment_overrides_the_database_and_api_address(tmp_path):
    cfg = load_config(environ={"BOT_DB": str(tmp_path / "x.db"), "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"})
    assert cfg["storage"]["db_path"] == str(tmp_path / "x.db")
    assert cfg["telegram"]["api_base_url"] == "http://127.0.0.1:9/bot"
