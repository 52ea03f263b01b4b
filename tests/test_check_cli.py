"""`check` end to end, in a subprocess: JSON shape, summary, --ics, --config, bad input → exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

# The command under test; becomes [sys.executable, "-m", "bot", "check"] once bot/__main__.py
# registers the sub-command.
CHECK = [sys.executable, "-m", "bot", "check"]
REPO = Path(__file__).resolve().parent.parent

PROFILE = {
    "name": "示例科技有限公司",
    "district": "海淀区",
    "titles": [{"tier": "specialized", "since": "2024-06-01"}],
    "updates": [2025],
    "changes": [{"kind": "rename", "date": "2026-03-15", "reported": False}],
    "plans": ["little_giant"],
}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CHECK, *args], cwd=REPO, capture_output=True, text=True,
                          encoding="utf-8", timeout=60)


def write(tmp_path: Path, data, name: str = "profile.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
                    encoding="utf-8")
    return str(path)


def test_json_output_has_the_issue_shape(tmp_path):
    done = run(write(tmp_path, PROFILE), "--today", "2026-05-20", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert list(data) == ["today", "title", "status", "valid_until", "items"]
    assert (data["today"], data["title"], data["status"], data["valid_until"]) == (
        "2026-05-20", "specialized", "valid", "2027-05-31")
    assert [(i["kind"], i["start"], i["due"], i["ref"]) for i in data["items"]] == [
        ("annual_update", None, "2026-05-31", "3"),
        ("change_filing", None, "2026-06-15", "4.1"),
        ("giant_window", "2026-04-01", "2026-06-30", "1.3"),
    ]
    assert all(i["text"] and i["why"] for i in data["items"])
    assert not any("estimate" in i for i in data["items"])


def test_the_summary_is_readable_chinese(tmp_path):
    done = run(write(tmp_path, PROFILE), "--today", "2026-05-20")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "示例科技有限公司" in out and "状态：有效" in out and "有效期至：2027年5月31日" in out
    assert out.index("2026年5月31日前") < out.index("2026年6月15日前") < out.index("2026年6月30日")
    assert "依据：通知第三部分“年度信息更新”" in out and "原因：" in out


def test_a_toml_profile_is_accepted(tmp_path):
    toml = ('district = "海淀区"\nupdates = [2025]\n'
            '[[titles]]\ntier = "specialized"\nsince = 2024-06-01\n')
    done = run(write(tmp_path, toml, "profile.toml"), "--today", "2026-05-20", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"] == "specialized"


def test_ics_file_parses_back_with_the_right_dates(tmp_path):
    ics = tmp_path / "out.ics"
    done = run(write(tmp_path, PROFILE), "--today", "2026-05-20", "--ics", str(ics))
    assert done.returncode == 0, done.stderr
    cal = Calendar.from_ical(ics.read_bytes())
    assert str(cal["VERSION"]) == "2.0" and str(cal["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert "PRODID" in cal
    events = cal.walk("VEVENT")
    assert [e.decoded("DTSTART") for e in events] == [
        date(2026, 5, 31), date(2026, 6, 15), date(2026, 6, 30)]
    first = events[0]
    assert first.decoded("DTEND") == date(2026, 6, 1)
    assert "年度信息更新" in str(first["SUMMARY"])
    assert "依据：通知第三部分“年度信息更新”" in str(first["DESCRIPTION"])
    (alarm,) = first.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(days=7)
    again = tmp_path / "again.ics"
    run(write(tmp_path, PROFILE), "--today", "2026-05-21", "--ics", str(again))
    uids = [str(e["UID"]) for e in events]
    assert uids == [str(e["UID"]) for e in Calendar.from_ical(again.read_bytes()).walk("VEVENT")]


def test_config_sets_the_giant_window(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[windows.giant.2026]\nstart = 2026-04-25\nend = 2026-05-25\n", encoding="utf-8")
    done = run(write(tmp_path, PROFILE), "--today", "2026-05-20", "--json", "--config", str(config))
    assert done.returncode == 0, done.stderr
    (window,) = [i for i in json.loads(done.stdout)["items"] if i["kind"] == "giant_window"]
    assert (window["start"], window["due"]) == ("2026-04-25", "2026-05-25")


def test_today_defaults_to_a_date(tmp_path):
    done = run(write(tmp_path, {"district": "海淀区"}), "--json")
    assert done.returncode == 0, done.stderr
    date.fromisoformat(json.loads(done.stdout)["today"])


BAD = [
    pytest.param({**PROFILE, "district": "朝阳"}, [], ["district", "东城区", "北京经济技术开发区"],
                 id="an unknown district is named and the valid ones listed"),
    pytest.param({**PROFILE, "titles": [{"tier": "specialized", "since": "2026-02-30"}]}, [],
                 ["titles[0].since", "2026-02-30", "YYYY-MM-DD"], id="an impossible date is named"),
    pytest.param({**PROFILE, "titles": [{"tier": "giant", "since": "2024-06-01"}]}, [],
                 ["titles[0].tier", "giant"], id="an unknown tier is named"),
    pytest.param({**PROFILE, "changes": [{"kind": "split", "date": "2026-01-01"}]}, [],
                 ["changes[0].kind", "split"], id="an unknown change kind is named"),
    pytest.param({**PROFILE, "incidents": [{"kind": "fire", "date": "2026-01-01"}]}, [],
                 ["incidents[0].kind", "fire"], id="an unknown incident kind is named"),
    pytest.param({**PROFILE, "titles": [{"tier": "specialized", "since": "2026-06-01"}]}, [],
                 ["titles[0].since", "晚于今天"], id="a since after today is named"),
    pytest.param('{"district": "海淀区",\n  "titles": [,]}', [], ["profile.json", "第 2 行"],
                 id="a malformed JSON file is named with its line"),
    pytest.param(PROFILE, ["--today", "2026-13-01"], ["--today", "2026-13-01"],
                 id="a bad --today is named"),
    pytest.param(PROFILE, ["--today", "tomorrow"], ["--today", "YYYY-MM-DD"],
                 id="a --today that is not a date is named"),
]


@pytest.mark.parametrize("profile, extra, fragments", BAD)
def test_bad_input_exits_2_with_one_line_naming_the_field(tmp_path, profile, extra, fragments):
    done = run(write(tmp_path, profile), "--today", "2026-05-20", *extra)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in done.stderr


def test_a_missing_profile_file_exits_2(tmp_path):
    done = run(str(tmp_path / "nowhere.json"), "--today", "2026-05-20")
    assert done.returncode == 2 and "nowhere.json" in done.stderr and "Traceback" not in done.stderr


def test_a_malformed_toml_profile_exits_2(tmp_path):
    done = run(write(tmp_path, 'district = "海淀区"\ntitles = [\n', "profile.toml"), "--today", "2026-05-20")
    assert done.returncode == 2 and "profile.toml" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_config_exits_2_naming_the_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[calendar]\nextra_holidays = [\"2027-02-30\"]\n", encoding="utf-8")
    done = run(write(tmp_path, PROFILE), "--today", "2026-05-20", "--config", str(config))
    assert done.returncode == 2
    assert "calendar.extra_holidays[0]" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_config_exits_2(tmp_path):
    done = run(write(tmp_path, PROFILE), "--today", "2026-05-20", "--config", str(tmp_path / "no.toml"))
    assert done.returncode == 2 and "--config" in done.stderr and "Traceback" not in done.stderr
