"""The profile records reviews (二) and the enterprise's consent to its district authority (the
staff console): in the file format and in the wizard."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import build, open_store
from bot.config import load_config
from bot.dialogue.messages import Incoming
from knowledge.clock import ZONE, FixedClock
from knowledge.profile import ProfileError, parse_profile, profile_to_dict

TODAY = dt.date(2026, 11, 29)
USER = 77


@pytest.mark.parametrize("data, share, since", [
    ({"district": "海淀区"}, False, None),
    ({"district": "海淀区", "share_with_district": True, "shared_since": "2026-11-01"}, True, dt.date(2026, 11, 1)),
    ({"district": "海淀区", "share_with_district": True}, True, None),
    ({"district": "海淀区", "share_with_district": False, "shared_since": "2026-11-01"}, False, None),
], ids=["no consent by default", "consent with its date", "consent whose date was not recorded",
        "a date without consent means nothing"])
def test_consent_is_read_from_the_profile(data, share, since):
    profile = parse_profile(data, TODAY)
    assert (profile.share_with_district, profile.shared_since) == (share, since)
    assert parse_profile(profile_to_dict(profile), TODAY) == profile


@pytest.mark.parametrize("data, field", [
    ({"district": "海淀区", "share_with_district": "yes"}, "share_with_district"),
    ({"district": "海淀区", "share_with_district": True, "shared_since": "2027-01-01"}, "shared_since"),
], ids=["consent must be true or false", "consent cannot be given in the future"])
def test_bad_consent_values_name_the_field(data, field):
    with pytest.raises(ProfileError) as info:
        parse_profile(data, TODAY)
    assert info.value.field == field


@pytest.fixture
def wizard(tmp_path):
    clock = FixedClock(dt.datetime(2026, 11, 29, 10, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "bot.db", clock)
    d = build(load_config(), store=store, clock=clock).dialogue

    def say(text=None, button=None):
        return d.handle(Incoming(USER, USER, text or "", callback=button))

    yield say, store
    store.close()


def test_the_wizard_records_a_review_and_the_consent_with_its_date(wizard):
    say, store = wizard
    say("/profile")
    say(button="pf:d:3")
    say(button="pf:skip")
    say(button="pf:t:specialized")
    say("2023-08-15")
    [step] = say(button="pf:t:done")
    assert "到期复核" in step.html
    [step] = say(button="pf:r:specialized")
    [step] = say(button="pf:rr:passed")
    assert "哪天" in step.html
    [step] = say("2026-03-20")
    assert "复核通过（2026-03-20）" in step.html
    say(button="pf:r:done")
    say(button="pf:u:done")
    say(button="pf:c:done")
    say(button="pf:i:done")
    [step] = say(button="pf:p:done")
    assert "允许所在区主管部门查看" in step.html
    [summary] = say(button="pf:sh:0")
    assert "区主管部门查看</b>：不同意" in summary.html
    say(button="pf:save")
    saved = store.get_profile(USER)
    assert saved["reviews"] == [{"tier": "specialized", "result": "passed", "date": "2026-03-20"}]
    assert "share_with_district" not in saved or saved["share_with_district"] is False
    # Consent can be changed later from the summary.
    say("/profile")
    say(button="pf:e:share")
    [summary] = say(button="pf:sh:1")
    say(button="pf:save")
    assert (store.get_profile(USER)["share_with_district"], store.get_profile(USER)["shared_since"]) == \
        (True, "2026-11-29")


@pytest.fixture
def enterprise(tmp_path):
    """A saved 海淀区 profile without consent, a 海淀区 officer, and the chat of both."""
    clock = FixedClock(dt.datetime(2026, 11, 29, 10, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "bot.db", clock)
    services = build(load_config(overrides={"staff": {"admins": [1]}}), store=store, clock=clock)
    services.staff.grant(1, 2, "海淀区")
    store.put_profile(USER, {"district": "海淀区", "name": "示范科技有限公司",
                             "titles": [{"tier": "innovative", "since": "2026-06-01"}]})

    def say(text=None, button=None):
        return services.dialogue.handle(Incoming(USER, USER, text or "", callback=button))

    def named():
        return {r.name for r in services.oversight.rows(2)[0]}

    named.counted = lambda: services.oversight.overview(2)["enterprises"]
    yield say, store, clock, named
    store.close()


@pytest.mark.parametrize("subscribed", [True, False], ids=["a subscriber", "without reminders"])
def test_settings_show_the_consent_and_a_button_changes_it_with_its_date(enterprise, subscribed):
    say, store, clock, named = enterprise
    if subscribed:
        say("/subscribe")
    [page] = say("/settings")
    assert "区主管部门查看本企业档案：不同意" in page.html
    assert [b.label for row in page.buttons for b in row if b.data == "st:share"] == ["同意区主管部门查看档案和办理进度"]
    [changed] = say(button="st:share")
    assert changed.edit and "已同意" in changed.html and "同意（2026-11-29起）" in changed.html
    assert (store.get_profile(USER)["share_with_district"], store.get_profile(USER)["shared_since"]) == (True, "2026-11-29")
    assert named() == {"示范科技有限公司"}
    clock.advance(days=3)
    [withdrawn] = say(button="st:share")
    assert "已撤回同意" in withdrawn.html and "不同意" in withdrawn.html
    assert store.get_profile(USER)["share_with_district"] is False and "shared_since" not in store.get_profile(USER)
    assert named() == set()


def test_settings_without_a_profile_offer_no_consent_button(enterprise):
    say, store, clock, named = enterprise
    store.forget_user(USER)
    [page] = say("/settings")
    assert not page.buttons and "区主管部门" not in page.html
    [pressed] = say(button="st:share")
    assert "还没有填写企业档案" in pressed.html and store.get_profile(USER) is None


def test_forget_withdraws_the_consent_with_the_profile(enterprise):
    say, store, clock, named = enterprise
    say(button="st:share")
    assert named() == {"示范科技有限公司"}
    say("/forget")
    say(button="fg:yes")
    assert named() == set() and named.counted() == 0
