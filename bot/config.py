"""config.toml: one declarative list of settings, read and checked at start-up.

`SETTINGS` is the single registry: the loader checks types against it, the README's
configuration table and a test that config.toml documents every key are derived from it.
Secrets never come from the file; only from environment variables (see `ENV_OVERRIDES`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.toml"


class ConfigError(Exception):
    """config.toml is missing, malformed, or holds a key of the wrong type."""


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    type: type | tuple[type, ...]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("general", "timezone", str, "Asia/Shanghai", "time zone of every date and time"),
    Setting("storage", "db_path", str, "data/bot.db", "SQLite file; env BOT_DB overrides"),
    Setting("matching", "answer_threshold", (int, float), 55.0, "score to answer outright"),
    Setting("matching", "suggest_threshold", (int, float), 35.0, "score to offer suggestions"),
    Setting("matching", "max_suggestions", int, 3, "suggestions at most"),
    Setting("calendar", "extra_holidays", list, [], "official holidays of years chinese-calendar lacks"),
    Setting("calendar", "extra_workdays", list, [], "adjusted workdays of years chinese-calendar lacks"),
    Setting("windows", "giant", dict, {}, "announced 小巨人 windows by year: start, end"),
    Setting("telegram", "api_base_url", str, "https://api.telegram.org/bot",
            "Bot API address (python-telegram-bot base_url); env TELEGRAM_API_BASE_URL overrides"),
    Setting("telegram", "mode", str, "polling", "polling or webhook"),
    Setting("telegram", "webhook_url", str, "", "public URL Telegram posts updates to (webhook mode)"),
    Setting("telegram", "webhook_listen", str, "127.0.0.1", "address the webhook server binds"),
    Setting("telegram", "webhook_port", int, 8443, "port the webhook server binds"),
    Setting("telegram", "poll_timeout", int, 30, "long-polling timeout in seconds"),
    Setting("staff", "admins", list, [], "Telegram user ids of the administrators"),
    Setting("reminders", "sweep_seconds", int, 30, "how often due reminders are looked for"),
    Setting("reminders", "replan_time", str, "00:10", "daily re-plan of every subscriber (HH:MM)"),
    Setting("outbox", "global_rate", (int, float), 30.0, "messages per second at most, overall"),
    Setting("outbox", "per_chat_interval", (int, float), 1.0, "seconds between two messages to one chat"),
    Setting("outbox", "max_attempts", int, 5, "tries for timeouts and 5xx before a message fails"),
    Setting("outbox", "backoff_cap", (int, float), 60.0, "longest wait between two tries, in seconds"),
)

# Environment variables that override a file setting: (env name, section, key).
ENV_OVERRIDES: tuple[tuple[str, str, str], ...] = (
    ("BOT_DB", "storage", "db_path"),
    ("TELEGRAM_API_BASE_URL", "telegram", "api_base_url"),
)


def _check_type(setting: Setting, value: Any) -> None:
    expected = setting.type
    # bool is an int in Python; a TOML `true` for a number is still a mistake.
    if isinstance(value, bool) and bool not in (expected if isinstance(expected, tuple) else (expected,)):
        raise ConfigError(f"配置项 [{setting.section}] {setting.key} 的类型不对：{value!r}")
    if not isinstance(value, expected):
        raise ConfigError(f"配置项 [{setting.section}] {setting.key} 的类型不对：{value!r}")


def _check_dates(section: str, key: str, values: list) -> None:
    for v in values:
        if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
            raise ConfigError(f"配置项 [{section}] {key} 只能填写日期（如 2027-01-01），不能是 {v!r}")


def load_config(path: str | os.PathLike | None = None, environ: dict | None = None) -> dict:
    """Parse and check config.toml; return {section: {key: value}} with defaults filled in."""
    env = os.environ if environ is None else environ
    cfg_path = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件：{cfg_path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {cfg_path} 格式有误：{exc}") from None

    known = {(s.section, s.key) for s in SETTINGS}
    for section, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"配置文件 {cfg_path}：{section} 应是一个表 [{section}]")
        for key in table:
            if (section, key) not in known:
                raise ConfigError(f"配置文件 {cfg_path}：未知配置项 [{section}] {key}")

    cfg: dict[str, dict[str, Any]] = {}
    for s in SETTINGS:
        value = raw.get(s.section, {}).get(s.key, s.default)
        _check_type(s, value)
        cfg.setdefault(s.section, {})[s.key] = value
    for env_name, section, key in ENV_OVERRIDES:
        if env.get(env_name):
            cfg[section][key] = env[env_name]

    _check_dates("calendar", "extra_holidays", cfg["calendar"]["extra_holidays"])
    _check_dates("calendar", "extra_workdays", cfg["calendar"]["extra_workdays"])
    for year, window in cfg["windows"]["giant"].items():
        if not (isinstance(window, dict) and str(year).isdigit()
                and isinstance(window.get("start"), dt.date) and isinstance(window.get("end"), dt.date)
                and window["start"] <= window["end"]):
            raise ConfigError(f"配置项 [windows.giant.{year}] 需要年份和 start、end 两个日期（start 不晚于 end）")
    m = cfg["matching"]
    if not 0 <= m["suggest_threshold"] <= m["answer_threshold"] <= 100:
        raise ConfigError("配置项 [matching]：需要 0 ≤ suggest_threshold ≤ answer_threshold ≤ 100")
    if not all(isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in cfg["staff"]["admins"]):
        raise ConfigError("配置项 [staff] admins 应是 Telegram 用户 ID（正整数）的列表")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", cfg["reminders"]["replan_time"]):
        raise ConfigError("配置项 [reminders] replan_time 应写成 00:10 这样的 24 小时制时间")
    if cfg["reminders"]["sweep_seconds"] < 1 or cfg["outbox"]["global_rate"] <= 0 \
            or cfg["outbox"]["per_chat_interval"] < 0 or cfg["outbox"]["max_attempts"] < 1:
        raise ConfigError("配置项 [reminders]/[outbox]：间隔、速率和次数必须为正数")
    if cfg["telegram"]["mode"] not in ("polling", "webhook"):
        raise ConfigError("配置项 [telegram] mode 只能是 polling 或 webhook")
    if cfg["telegram"]["mode"] == "webhook" and not cfg["telegram"]["webhook_url"].startswith("https://"):
        raise ConfigError("配置项 [telegram] webhook_url：webhook 模式需要一个 https:// 开头的公网地址")
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(cfg["general"]["timezone"])
    except Exception:
        raise ConfigError(f"配置项 [general] timezone 不是有效的时区：{cfg['general']['timezone']}") from None
    return cfg
