"""Params: the notice's values (from the data) and what config.toml adds — a new year's official
calendar, windows announced later."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from knowledge.rules.dates import NoticeDates, default_notice_dates


class ConfigError(ValueError):
    """A config.toml value the rules engine reads is wrong; `key` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Params:
    """The notice's dates (`notice`, read from the knowledge data) and what config.toml adds to
    them: a new year's calendar, windows announced later."""

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    giant_windows: Mapping[int, tuple[date, date]] = field(default_factory=dict, hash=False)
    # Review windows a district announced, {(district, year): (start, end)}; "全市" for all districts.
    review_windows: Mapping[tuple[str, int], tuple[date, date]] = field(default_factory=dict, hash=False)
    notice: NoticeDates = field(default_factory=default_notice_dates)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], notice: NoticeDates | None = None) -> "Params":
        """Params from the parsed config.toml ([calendar] and [windows.giant]); ConfigError if wrong.
        `notice` defaults to the repository's notice."""
        if not isinstance(cfg, Mapping):
            raise ConfigError("config", "应为 TOML 表")
        cal = cfg.get("calendar", {})
        if not isinstance(cal, Mapping):
            raise ConfigError("calendar", "应为 TOML 表")
        holidays = _config_dates(cal.get("extra_holidays", []), "calendar.extra_holidays")
        workdays = _config_dates(cal.get("extra_workdays", []), "calendar.extra_workdays")
        both = holidays & workdays
        if both:
            first = min(both).isoformat()
            raise ConfigError("calendar.extra_workdays", f"{first} 同时出现在 extra_holidays 中")
        windows_cfg = cfg.get("windows", {})
        if not isinstance(windows_cfg, Mapping):
            raise ConfigError("windows", "应为 TOML 表")
        giant = windows_cfg.get("giant", {})
        if not isinstance(giant, Mapping):
            raise ConfigError("windows.giant", "应为 TOML 表")
        windows: dict[int, tuple[date, date]] = {}
        for key, value in giant.items():
            where = f"windows.giant.{key}"
            if not str(key).isdigit() or len(str(key)) != 4:
                raise ConfigError(where, "键应为四位数年份，如 [windows.giant.2027]")
            year = int(key)
            if not isinstance(value, Mapping) or set(value) != {"start", "end"}:
                raise ConfigError(where, "应含且只含 start 和 end 两个日期")
            start = _config_date(value["start"], f"{where}.start")
            end = _config_date(value["end"], f"{where}.end")
            if start.year != year or end.year != year:
                raise ConfigError(where, f"start 和 end 应在 {year} 年内")
            if end < start:
                raise ConfigError(f"{where}.end", "不应早于 start")
            windows[year] = (start, end)
        return cls(frozenset(holidays), frozenset(workdays), windows, notice=notice or default_notice_dates())

    def review_window(self, district: str, year: int) -> tuple[date, date] | None:
        """The review window the district (or the whole city) announced for `year`, if any."""
        return self.review_windows.get((district, year)) or self.review_windows.get(("全市", year))

    def giant_window(self, year: int) -> tuple[date, date, bool]:
        """(start, end, configured) of the 小巨人 window of `year`: config, else the notice's
        quarter (ref 1.3)."""
        if year in self.giant_windows:
            start, end = self.giant_windows[year]
            return start, end, True
        start, end = self.notice.quarter(year)
        return start, end, False


def _config_date(value: Any, key: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(key, f"日期无效“{value}”，请写 TOML 日期，如 2027-01-01")


def _config_dates(value: Any, key: str) -> set[date]:
    if not isinstance(value, list):
        raise ConfigError(key, "应为日期列表，如 [2027-01-01]")
    return {_config_date(v, f"{key}[{i}]") for i, v in enumerate(value)}
