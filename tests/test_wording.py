"""One wording for what every channel shows: statuses, tiers, dates and counts in Chinese."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.rules import STATUSES
from knowledge.wording import NO_TITLE, STATUS_NAMES, TIER_NAMES, TIERS, cn, cn_number, quarter_name, weekday


@pytest.mark.parametrize("got, expected", [
    pytest.param(cn(date(2026, 5, 31)), "2026年5月31日", id="a date has no leading zeros"),
    pytest.param(cn(date(2027, 1, 1)), "2027年1月1日", id="a single-digit month and day stay single"),
    pytest.param(weekday(date(2026, 5, 31)), "星期日", id="31 May 2026 is a Sunday"),
    pytest.param(weekday(date(2026, 6, 1)), "星期一", id="1 June 2026 is a Monday"),
    pytest.param(cn_number(3), "三", id="three in words"),
    pytest.param(cn_number(10), "十", id="ten is 十, not 一十"),
    pytest.param(cn_number(12), "十二", id="twelve is 十二"),
    pytest.param(cn_number(25), "二十五", id="twenty-five is 二十五"),
    pytest.param(cn_number(0), "零", id="zero is 零"),
    pytest.param(quarter_name(2), "第二季度", id="the second quarter"),
])
def test_chinese_wording(got, expected):
    assert got == expected


@pytest.mark.parametrize("n", [-1, 100], ids=["below zero is refused", "a hundred is refused"])
def test_counts_outside_0_to_99_are_refused(n):
    with pytest.raises(ValueError):
        cn_number(n)


def test_every_status_and_tier_has_one_name():
    assert set(STATUS_NAMES) == set(STATUSES)
    assert STATUS_NAMES == {"valid": "有效", "expired": "已到期", "cancelled": "已取消认定", "none": "无称号"}
    assert NO_TITLE == "无有效称号"
    assert set(TIER_NAMES) == set(TIERS)
