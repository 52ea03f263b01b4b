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
