"""The project's own promises about its structure and its configuration."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import DEFAULT_CONFIG, SETTINGS, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


# Higher layers may import lower ones, never the reverse (README, "Layout").
LAYERS = ("bot", "district", "reminders", "delivery", "storage", "knowledge")
PRODUCT = [p for p in ROOT.glob("*/**/*.py") if p.parts[len(ROOT.parts)] in LAYERS]


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth, except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    found = set()
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def test_the_product_modules_were_found():
    assert {_module(p).split(".")[0] for p in PRODUCT} == set(LAYERS)


def test_dependencies_point_one_way():
    wrong = []
    for path in PRODUCT:
        layer = LAYERS.index(_module(path).split(".")[0])
        for name in _imports(path):
            top = name.split(".")[0]
            if top in LAYERS and LAYERS.index(top) < layer:
                wrong.append(f"{_module(path)} imports {name}")
    assert wrong == []


def test_only_bot_telegram_imports_telegram():
    importers = sorted(_module(p) for p in PRODUCT
                       if any(n == "telegram" or n.startswith("telegram.") for n in _imports(p)))
    assert importers and all(m.startswith("bot.telegram") for m in importers), importers


def test_loading_every_layer_but_the_telegram_channel_loads_no_telegram():
    code = ("import sys, pkgutil, importlib\n"
            f"for top in {list(LAYERS)!r}:\n"
            "    pkg = importlib.import_module(top)\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, top + '.'):\n"
            "        if not m.name.startswith('bot.telegram') and m.name != 'bot.__main__':\n"
            "            importlib.import_module(m.name)\n"
            "print(sorted(n for n in sys.modules if n == 'telegram' or n.startswith('telegram.')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_import_cycles_between_modules():
    modules = {_module(p): p for p in PRODUCT}
    graph = {m: {n for n in _imports(p) if n in modules and n != m} for m, p in modules.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(trail[trail.index(n):] + [n] if n in trail else [m, n])
            elif n not in state:
                visit(n, trail + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


# Helpers and wordings that once existed in several copies (and told users different things).
DEFINED_ONCE = ("cn", "weekday", "visible_len", "utf16_len", "html_to_text", "stamp", "utc_stamp", "citation",
                "cite_for", "parse_int", "quote", "kind_name", "STATUS_NAMES", "TIER_NAMES", "TIERS", "KIND_NAMES",
                "CITY_WIDE", "NO_TITLE", "parse_user_date", "add_months", "valid_until")


def _top_level_definitions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("name", DEFINED_ONCE)
def test_each_shared_helper_and_wording_is_defined_once(name):
    where = [_module(p) for p in PRODUCT if name in _top_level_definitions(p)]
    assert len(where) == 1, f"{name} is defined in {where}"


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
    from bot.dialogue.commands import COMMANDS

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
    assert cfg.db_path == str(tmp_path / "x.db")
    assert cfg.telegram.api_base_url == "http://127.0.0.1:9/bot"
