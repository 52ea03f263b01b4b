"""config.toml: one declarative list of settings, checked once at start-up into a frozen `Config`.

`SETTINGS` is the single registry: the loader checks types against it, and tests check that
config.toml and the README document every key. `load_config` is the only place a setting is
validated; everything else receives the typed `Config` (or the part of it it needs). Secrets never
come from the file, only from environment variables (see `ENV_OVERRIDES`).

Every date and time is Asia/Shanghai (knowledge.clock.ZONE): the assistant serves Beijing.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from knowledge.text import quote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.toml"
DEFAULT_DB_PATH = "data/bot.db"  # relative to the working directory; the only path that may create its folder


PUBLIC_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")  # scheme://host[:port][/prefix]


class ConfigError(Exception):
    """config.toml is missing, malformed, or holds a key of the wrong type; the message names it,
    and `key` (section.key[index]) when a setting is at fault."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    type: type | tuple[type, ...]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("storage", "db_path", str, DEFAULT_DB_PATH, "SQLite file; env BOT_DB overrides"),
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
    Setting("telegram", "flood_burst", int, 20, "messages a user may send at once before being slowed down"),
    Setting("telegram", "flood_rate", (int, float), 1.0, "messages per second a user may keep sending"),
    Setting("staff", "admins", list, [], "Telegram user ids of the administrators"),
    Setting("reminders", "sweep_seconds", int, 30, "how often due reminders are looked for"),
    Setting("reminders", "replan_time", str, "00:10", "daily re-plan of every subscriber (HH:MM)"),
    Setting("outbox", "global_rate", (int, float), 30.0, "messages per second at most, overall"),
    Setting("outbox", "per_chat_interval", (int, float), 1.0, "seconds between two messages to one chat"),
    Setting("outbox", "max_attempts", int, 5, "tries for timeouts and 5xx before a message fails"),
    Setting("outbox", "backoff_cap", (int, float), 60.0, "longest wait between two tries, in seconds"),
    Setting("web", "host", str, "127.0.0.1", "address the web server binds (python -m bot web --host overrides)"),
    Setting("web", "port", int, 8080, "port the web server binds (--port overrides)"),
    Setting("web", "public_url", str, "", "the address people reach the page at, e.g. https://zhushou.example.cn; "
            "calendar links and Telegram's feed button use it, and https makes the cookie Secure"),
    Setting("web", "trusted_proxies", list, [], "peer addresses whose X-Forwarded-For / X-Forwarded-Proto are believed"),
    Setting("web", "session_days", int, 180, "an anonymous session unused this long ends and its data is deleted"),
    Setting("web", "transfer_minutes", int, 30, "how long a 在其他设备继续 link stays valid"),
    Setting("web", "session_burst", int, 20, "requests a session may make at once before being slowed down"),
    Setting("web", "session_rate", (int, float), 1.0, "requests per second a session may keep making"),
    Setting("web", "address_burst", int, 200, "requests one address may make at once (many people share an office NAT)"),
    Setting("web", "address_rate", (int, float), 20.0, "requests per second one address may keep making"),
    Setting("web", "max_text_chars", int, 1000, "longest message a visitor may send, in characters"),
    Setting("web", "max_body_bytes", int, 16384, "largest request body accepted, in bytes"),
)

# Environment variables that override a file setting: (env name, section, key).
ENV_OVERRIDES: tuple[tuple[str, str, str], ...] = (
    ("BOT_DB", "storage", "db_path"),
    ("TELEGRAM_API_BASE_URL", "telegram", "api_base_url"),
    ("WEB_PUBLIC_URL", "web", "public_url"),
)


@dataclass(frozen=True)
class Matching:
    answer_threshold: float
    suggest_threshold: float
    max_suggestions: int


@dataclass(frozen=True)
class Calendar:
    extra_holidays: frozenset[dt.date]
    extra_workdays: frozenset[dt.date]


@dataclass(frozen=True)
class Telegram:
    api_base_url: str
    mode: str
    webhook_url: str
    webhook_listen: str
    webhook_port: int
    poll_timeout: int
    flood_burst: int
    flood_rate: float


@dataclass(frozen=True)
class Reminders:
    sweep_seconds: int
    replan_time: dt.time


@dataclass(frozen=True)
class OutboxSettings:
    global_rate: float
    per_chat_interval: float
    max_attempts: int
    backoff_cap: float


@dataclass(frozen=True)
class Web:
    host: str
    port: int
    public_url: str           # "" or scheme://host[:port][/prefix], without a trailing slash
    trusted_proxies: frozenset[str]
    session_days: int
    transfer_minutes: int
    session_burst: int
    session_rate: float
    address_burst: int
    address_rate: float
    max_text_chars: int
    max_body_bytes: int

    @property
    def base_url(self) -> str:
        """Where people reach the site, for links made outside a request (the staff console's
        login links): `public_url`, else the address the server binds."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class Config:
    db_path: str
    matching: Matching
    calendar: Calendar
    giant_windows: Mapping[int, tuple[dt.date, dt.date]] = field(hash=False)
    telegram: Telegram
    admins: frozenset[int]
    reminders: Reminders
    outbox: OutboxSettings
    web: Web
    path: Path


def _check_type(setting: Setting, value: Any) -> None:
    expected = setting.type if isinstance(setting.type, tuple) else (setting.type,)
    # bool is an int in Python; a TOML `true` for a number is still a mistake.
    if (isinstance(value, bool) and bool not in expected) or not isinstance(value, expected):
        raise ConfigError(f"配置项 {setting.section}.{setting.key} 的类型不对：{quote(repr(value))}",
                          f"{setting.section}.{setting.key}")


def _dates(section: str, key: str, values: list) -> frozenset[dt.date]:
    for i, v in enumerate(values):
        if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
            raise ConfigError(f"配置项 {section}.{key}[{i}] 只能填写 TOML 日期（如 2027-01-01，不加引号），"
                              f"不能是 {quote(repr(v))}", f"{section}.{key}[{i}]")
    return frozenset(values)


def _giant_windows(raw: Mapping[str, Any]) -> dict[int, tuple[dt.date, dt.date]]:
    out = {}
    for year, window in raw.items():
        key = f"windows.giant.{year}"
        if not (str(year).isdigit() and len(str(year)) == 4):
            raise ConfigError(f"配置项 [{key}]：键应为四位数年份，如 [windows.giant.2027]", key)
        if not isinstance(window, dict) or set(window) != {"start", "end"} or not all(
                isinstance(window[k], dt.date) and not isinstance(window[k], dt.datetime) for k in ("start", "end")):
            raise ConfigError(f"配置项 [{key}]：应含且只含 start 和 end 两个 TOML 日期", key)
        if window["start"].year != int(year) or window["end"].year != int(year):
            raise ConfigError(f"配置项 [{key}]：start 和 end 应在 {year} 年内", key)
        if window["end"] < window["start"]:
            raise ConfigError(f"配置项 [{key}] end 不应早于 start", f"{key}.end")
        out[int(year)] = (window["start"], window["end"])
    return out


def _web(v: Mapping[tuple[str, str], Any]) -> Web:
    public_url = v["web", "public_url"].strip().rstrip("/")
    if public_url and not PUBLIC_URL.fullmatch(public_url):
        raise ConfigError("配置项 [web] public_url 应是 https://域名 这样的地址（也可留空）")
    proxies = v["web", "trusted_proxies"]
    if not all(isinstance(a, str) and a for a in proxies):
        raise ConfigError("配置项 [web] trusted_proxies 应是 IP 地址（字符串）的列表")
    web = Web(v["web", "host"], v["web", "port"], public_url, frozenset(proxies),
              *(v["web", k] for k in ("session_days", "transfer_minutes", "session_burst")),
              float(v["web", "session_rate"]), v["web", "address_burst"], float(v["web", "address_rate"]),
              v["web", "max_text_chars"], v["web", "max_body_bytes"])
    if not 0 < web.port < 65536:
        raise ConfigError("配置项 [web] port 应在 1–65535 之间")
    if min(web.session_days, web.transfer_minutes, web.session_burst, web.address_burst, web.max_text_chars) < 1 \
            or web.session_rate <= 0 or web.address_rate <= 0 or web.max_body_bytes < 1024:
        raise ConfigError("配置项 [web]：天数、分钟、速率和长度必须为正数（max_body_bytes 至少 1024）")
    return web


def _read(cfg_path: Path) -> dict:
    try:
        return tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件：{cfg_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"无法读取配置文件 {cfg_path}：{exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {cfg_path} 格式有误：{exc}") from None


def load_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Config:
    """Parse and check config.toml (plus `overrides`, {section: {key: value}}, as if written in
    the file — for tests and benchmarks); ConfigError names the file and the key."""
    env = os.environ if environ is None else environ
    cfg_path = Path(path) if path else DEFAULT_CONFIG
    raw = _read(cfg_path)
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)

    known = {(s.section, s.key) for s in SETTINGS}
    for section, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"配置文件 {cfg_path}：{section} 应是一个表 [{section}]")
        for key in table:
            if (section, key) not in known:
                raise ConfigError(f"配置文件 {cfg_path}：未知配置项 [{quote(section)}] {quote(key)}")

    v: dict[tuple[str, str], Any] = {}
    for s in SETTINGS:
        value = raw.get(s.section, {}).get(s.key, s.default)
        _check_type(s, value)
        v[s.section, s.key] = value
    for env_name, section, key in ENV_OVERRIDES:
        if env.get(env_name):
            v[section, key] = env[env_name]

    holidays = _dates("calendar", "extra_holidays", v["calendar", "extra_holidays"])
    workdays = _dates("calendar", "extra_workdays", v["calendar", "extra_workdays"])
    if holidays & workdays:
        raise ConfigError(f"配置项 [calendar] extra_workdays：{min(holidays & workdays).isoformat()} "
                          "同时出现在 extra_holidays 中", "calendar.extra_workdays")
    matching = Matching(float(v["matching", "answer_threshold"]), float(v["matching", "suggest_threshold"]),
                        v["matching", "max_suggestions"])
    if not 0 <= matching.suggest_threshold <= matching.answer_threshold <= 100:
        raise ConfigError("配置项 [matching]：需要 0 ≤ suggest_threshold ≤ answer_threshold ≤ 100")
    admins = v["staff", "admins"]
    if not all(isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in admins):
        raise ConfigError("配置项 [staff] admins 应是 Telegram 用户 ID（正整数）的列表")
    replan = v["reminders", "replan_time"]
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", replan):
        raise ConfigError("配置项 [reminders] replan_time 应写成 00:10 这样的 24 小时制时间")
    outbox = OutboxSettings(float(v["outbox", "global_rate"]), float(v["outbox", "per_chat_interval"]),
                            v["outbox", "max_attempts"], float(v["outbox", "backoff_cap"]))
    if v["reminders", "sweep_seconds"] < 1 or outbox.global_rate <= 0 or outbox.per_chat_interval < 0 \
            or outbox.max_attempts < 1 or outbox.backoff_cap < 0:
        raise ConfigError("配置项 [reminders]/[outbox]：间隔、速率和次数必须为正数")
    telegram = Telegram(*(v["telegram", k] for k in ("api_base_url", "mode", "webhook_url", "webhook_listen",
                                                      "webhook_port", "poll_timeout", "flood_burst")),
                        float(v["telegram", "flood_rate"]))
    if telegram.flood_burst < 1 or telegram.flood_rate <= 0:
        raise ConfigError("配置项 [telegram] flood_burst 和 flood_rate 必须为正数")
    if telegram.mode not in ("polling", "webhook"):
        raise ConfigError("配置项 [telegram] mode 只能是 polling 或 webhook")
    if telegram.mode == "webhook" and not telegram.webhook_url.startswith("https://"):
        raise ConfigError("配置项 [telegram] webhook_url：webhook 模式需要一个 https:// 开头的公网地址")
    web = _web(v)
    hour, minute = map(int, replan.split(":"))
    return Config(
        db_path=v["storage", "db_path"], matching=matching, calendar=Calendar(holidays, workdays),
        giant_windows=_giant_windows(v["windows", "giant"]), telegram=telegram, admins=frozenset(admins),
        reminders=Reminders(v["reminders", "sweep_seconds"], dt.time(hour, minute)), outbox=outbox,
        web=web, path=cfg_path)
