"""Profile checking: every bad field is refused with a Chinese message that names it."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.profile import (
    DISTRICTS,
    Application,
    Change,
    Incident,
    Profile,
    ProfileError,
    Review,
    Title,
    load_profile_file,
    parse_profile,
    profile_to_dict,
)

TODAY = date(2026, 5, 20)
GOOD = {
    "name": "示例科技有限公司",
    "district": "北京经济技术开发区",
    "titles": [{"tier": "specialized", "since": "2024-06-01"}],
    "updates": [2025],
    "changes": [{"kind": "rename", "date": "2026-03-15", "reported": False}],
    "incidents": [{"kind": "quality", "date": "2025-01-10", "remedied": True}],
    "application": {"tier": "little_giant", "submitted": "2026-04-30"},
    "plans": ["little_giant"],
    "reviews": [{"tier": "specialized", "result": "pending", "date": "2026-03-10"}],
}


def with_(**changes):
    data = dict(GOOD)
    data.update(changes)
    return data


def without(key):
    return {k: v for k, v in GOOD.items() if k != key}


BAD = [
    pytest.param(with_(district="朝阳"), "district", "朝阳",
                 id="an unknown district is refused"),
    pytest.param(without("district"), "district", "缺少",
                 id="a missing district is refused"),
    pytest.param(with_(district=110105), "district", "110105",
                 id="a district code instead of a name is refused"),
    pytest.param(with_(titles=[{"tier": "specialized", "since": "2026-02-30"}]), "titles[0].since",
                 "日期无效“2026-02-30”，请用 YYYY-MM-DD 格式", id="an impossible since date is refused"),
    pytest.param(with_(titles=[{"tier": "specialized", "since": "2024/06/01"}]), "titles[0].since",
                 "YYYY-MM-DD", id="a since date in another format is refused"),
    pytest.param(with_(titles=[{"tier": "specialized", "since": "20240601"}]), "titles[0].since",
                 "YYYY-MM-DD", id="a compact since date is refused"),
    pytest.param(with_(titles=[{"tier": "specialized", "since": "2026-05-21"}]), "titles[0].since",
                 "晚于今天", id="a since date after today is refused"),
    pytest.param(with_(titles=[{"tier": "giant", "since": "2024-06-01"}]), "titles[0].tier",
                 "little_giant", id="an unknown tier is refused and the valid tiers are listed"),
    pytest.param(with_(titles=[{"tier": "innovative", "since": "2024-06-01"}, {"tier": "innovative"}]),
                 "titles[1].since", "缺少", id="a title without since is refused with its index"),
    pytest.param(with_(titles={"tier": "innovative", "since": "2024-06-01"}), "titles", "列表",
                 id="titles that are not a list are refused"),
    pytest.param(with_(titles=[{"tier": "innovative", "since": "2024-06-01", "until": "2027-05-31"}]),
                 "titles[0].until", "未知字段", id="an unknown key inside a title is refused"),
    pytest.param(with_(updates=["twenty"]), "updates[0]", "年份无效", id="a non-numeric update year is refused"),
    pytest.param(with_(updates=[2025, 2027]), "updates[1]", "晚于今年", id="an update year after this year is refused"),
    pytest.param(with_(updates=[True]), "updates[0]", "年份无效", id="a boolean update year is refused"),
    pytest.param(with_(changes=[{"kind": "split", "date": "2026-03-15"}]), "changes[0].kind", "rename",
                 id="an unknown change kind is refused and the valid kinds are listed"),
    pytest.param(with_(changes=[{"kind": "rename", "date": "2026-06-01"}]), "changes[0].date", "晚于今天",
                 id="a change dated after today is refused"),
    pytest.param(with_(changes=[{"kind": "rename", "date": "2026-03-15", "reported": "yes"}]),
                 "changes[0].reported", "true 或 false", id="a non-boolean reported flag is refused"),
    pytest.param(with_(incidents=[{"kind": "fire", "date": "2025-01-10"}]), "incidents[0].kind", "safety",
                 id="an unknown incident kind is refused and the valid kinds are listed"),
    pytest.param(with_(incidents=[{"kind": "fraud", "date": "2025-13-01"}]), "incidents[0].date",
                 "日期无效“2025-13-01”", id="an impossible incident date is refused"),
    pytest.param(with_(incidents=[{"kind": "fraud", "date": "2026-12-01"}]), "incidents[0].date",
                 "晚于今天", id="an incident dated after today is refused"),
    pytest.param(with_(incidents=[{"kind": "fraud", "date": "2025-01-10", "remedied": 1}]),
                 "incidents[0].remedied", "true 或 false", id="a numeric remedied flag is refused"),
    pytest.param(with_(application={"tier": "champion", "submitted": "2026-04-30"}), "application.tier",
                 "specialized", id="an application for an unknown tier is refused"),
    pytest.param(with_(application={"tier": "specialized"}), "application.submitted", "缺少",
                 id="an application without a submission date is refused"),
    pytest.param(with_(application={"tier": "specialized", "submitted": "2026-06-01"}),
                 "application.submitted", "晚于今天", id="an application submitted after today is refused"),
    pytest.param(with_(plans=["innovative", "unicorn"]), "plans[1]", "innovative",
                 id="an unknown planned tier is refused"),
    pytest.param(with_(reviews=[{"tier": "specialized", "result": "ok", "date": "2026-03-10"}]), "reviews[0].result",
                 "passed", id="an unknown review result is refused and the valid results are listed"),
    pytest.param(with_(reviews=[{"tier": "giant", "result": "passed", "date": "2026-03-10"}]), "reviews[0].tier",
                 "little_giant", id="a review of an unknown tier is refused"),
    pytest.param(with_(reviews=[{"tier": "specialized", "result": "passed"}]), "reviews[0].date", "缺少",
                 id="a review without its date is refused"),
    pytest.param(with_(reviews=[{"tier": "specialized", "result": "passed", "date": "2026-05-21"}]),
                 "reviews[0].date", "晚于今天", id="a review dated after today is refused"),
    pytest.param(with_(reviews=[{"tier": "specialized", "date": "2026-03-10"}]), "reviews[0].result", "缺少",
                 id="a review without its result is refused"),
    pytest.param(with_(reviews=[{"tier": "specialized", "result": "passed", "date": "2026-03-10", "score": 90}]),
                 "reviews[0].score", "未知字段", id="an unknown key inside a review is refused"),
    pytest.param(with_(reviews={"tier": "specialized"}), "reviews", "列表", id="reviews that are not a list are refused"),
    pytest.param(with_(update=[2025]), "update", "未知字段", id="a misspelt top-level key is refused"),
    pytest.param(with_(name=42), "name", "文字", id="a non-text name is refused"),
    pytest.param(with_(name="第一行\n第二行"), "name", "一行", id="a name with a line break is refused"),
    pytest.param(["district", "海淀区"], "profile", "对象", id="a profile that is not an object is refused"),
]


@pytest.mark.parametrize("data, field, fragment", BAD)
def test_bad_input_names_the_field(data, field, fragment):
    with pytest.raises(ProfileError) as info:
        parse_profile(data, TODAY)
    assert info.value.field == field
    assert fragment in info.value.message
    assert str(info.value).startswith(f"{field}: ")


def test_the_impossible_date_message_reads_exactly_as_documented():
    with pytest.raises(ProfileError) as info:
        parse_profile(with_(titles=[{"tier": "specialized", "since": "2026-02-30"}]), TODAY)
    assert str(info.value) == "titles[0].since: 日期无效“2026-02-30”，请用 YYYY-MM-DD 格式"


def test_an_unknown_district_lists_all_17_valid_names():
    with pytest.raises(ProfileError) as info:
        parse_profile(with_(district="朝阳"), TODAY)
    assert len(DISTRICTS) == 17
    assert all(name in info.value.message for name in DISTRICTS)


def test_the_district_list_can_be_passed_in():
    assert parse_profile(with_(district="雄安新区"), TODAY, districts=["雄安新区"]).district == "雄安新区"
    with pytest.raises(ProfileError):
        parse_profile(GOOD, TODAY, districts=["雄安新区"])


def test_a_good_profile_is_read_field_by_field():
    assert parse_profile(GOOD, TODAY) == Profile(
        district="北京经济技术开发区",
        titles=(Title("specialized", date(2024, 6, 1)),),
        updates=(2025,),
        changes=(Change("rename", date(2026, 3, 15), False),),
        incidents=(Incident("quality", date(2025, 1, 10), True),),
        application=Application("little_giant", date(2026, 4, 30)),
        plans=("little_giant",),
        name="示例科技有限公司",
        reviews=(Review("specialized", "pending", date(2026, 3, 10)),),
    )


DEFAULTS = [
    pytest.param({"district": "海淀区"}, Profile(district="海淀区"), id="only the district is required"),
    pytest.param({"district": "海淀区", "changes": [{"kind": "merger", "date": "2026-01-01"}]},
                 Profile(district="海淀区", changes=(Change("merger", date(2026, 1, 1), False),)),
                 id="a change without reported counts as not reported"),
    pytest.param({"district": "海淀区", "incidents": [{"kind": "cyber", "date": "2026-01-01"}]},
                 Profile(district="海淀区", incidents=(Incident("cyber", date(2026, 1, 1), False),)),
                 id="an incident without remedied counts as not remedied"),
    pytest.param({"district": "海淀区", "updates": [2025, "2024", 2025]},
                 Profile(district="海淀区", updates=(2024, 2025)),
                 id="update years are deduplicated and sorted and a four-digit string is a year"),
    pytest.param({"district": "海淀区", "application": None, "plans": None},
                 Profile(district="海淀区"), id="null application and plans are empty"),
    pytest.param({"district": "海淀区", "titles": [{"tier": "innovative", "since": date(2025, 1, 2)}]},
                 Profile(district="海淀区", titles=(Title("innovative", date(2025, 1, 2)),)),
                 id="a TOML date is accepted as a date"),
]


@pytest.mark.parametrize("data, expected", DEFAULTS)
def test_defaults(data, expected):
    assert parse_profile(data, TODAY) == expected


def test_profile_to_dict_is_json_friendly_and_reads_back():
    profile = parse_profile(GOOD, TODAY)
    data = profile_to_dict(profile)
    assert data["titles"] == [{"tier": "specialized", "since": "2024-06-01"}]
    assert data["application"] == {"tier": "little_giant", "submitted": "2026-04-30"}
    assert data["reviews"] == [{"tier": "specialized", "result": "pending", "date": "2026-03-10"}]
    assert parse_profile(data, TODAY) == profile


FILES = [
    pytest.param("p.json", '{"district": "海淀区",\n "titles": [{"tier": "innovative", "since": "2025-01-02"}]}',
                 None, id="a JSON profile is read"),
    pytest.param("p.toml", 'district = "海淀区"\n[[titles]]\ntier = "innovative"\nsince = 2025-01-02\n',
                 None, id="a TOML profile with a native date is read"),
    pytest.param("p.json", '{"district": "海淀区",\n "titles": [\n  {"tier": "innovative",, "since": "x"}]}',
                 "第 3 行", id="malformed JSON names the file and the line"),
    pytest.param("p.toml", 'district = "海淀区"\ntitles = [\nupdates 2025\n', "第 3 行",
                 id="malformed TOML names the file and the line"),
    pytest.param("p.yaml", "district: 海淀区\n", ".json", id="another file type is refused"),
    pytest.param("p.json", '["海淀区"]', "对象", id="a JSON file that is not an object is refused"),
    pytest.param("p.json", '{"district": "海淀区", "titles": [{"tier": "x", "since": "2025-01-02"}]}',
                 "titles[0].tier", id="a field error inside a file names the field"),
]


@pytest.mark.parametrize("name, content, error", FILES)
def test_load_profile_file(tmp_path, name, content, error):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    if error is None:
        profile = load_profile_file(path, TODAY)
        assert profile.titles == (Title("innovative", date(2025, 1, 2)),)
        return
    with pytest.raises(ProfileError) as info:
        load_profile_file(path, TODAY)
    assert error in str(info.value)
    if error != "titles[0].tier":
        assert info.value.field == str(path)


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(ProfileError) as info:
        load_profile_file(path, TODAY)
    assert info.value.field == str(path) and "不存在" in info.value.message


def test_the_districts_a_profile_accepts_are_the_knowledge_bases():
    from knowledge.loader import default_kb

    assert DISTRICTS == tuple(d.name for d in default_kb().districts)
    assert len(DISTRICTS) == 17 and "北京经济技术开发区" in DISTRICTS
