"""The staff console's data: counts for every enterprise, names only with consent, one district
only for district staff (refusals audited), CSV that Excel opens and cannot be tricked by a name."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from bot.app import build, open_store
from bot.config import load_config
from district.staff import CITY_WIDE, NotAllowed, StaffError
from knowledge.clock import ZONE, FixedClock

ADMIN, CITY, HAIDIAN, CHAOYANG = 1, 2, 3, 4


def title(tier="specialized", since="2025-06-01"):
    return [{"tier": tier, "since": since}]


ENTERPRISES = {
    101: {"district": "海淀区", "name": "甲科技有限公司", "titles": title(), "updates": [2026],
          "share_with_district": True, "shared_since": "2026-01-05"},
    102: {"district": "海淀区", "name": "乙软件有限公司", "titles": title("innovative"),
          "changes": [{"kind": "rename", "date": "2026-03-20", "reported": False}],
          "share_with_district": True, "shared_since": "2026-01-05"},
    103: {"district": "海淀区", "name": "丙不同意有限公司", "titles": title("little_giant", "2024-06-20")},
    104: {"district": "朝阳区", "name": "丁朝阳有限公司", "titles": title(), "share_with_district": True},
    105: {"district": "海淀区", "name": "=HYPERLINK(\"http://x\")", "titles": title("innovative"),
          "share_with_district": True},
}


@pytest.fixture
def services(tmp_path):
    clock = FixedClock(dt.datetime(2026, 5, 20, 10, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "bot.db", clock)
    svc = build(load_config(overrides={"staff": {"admins": [ADMIN]}}), store=store, clock=clock)
    svc.staff.grant(ADMIN, CITY, CITY_WIDE)
    svc.staff.grant(ADMIN, HAIDIAN, "海淀区")
    svc.staff.grant(ADMIN, CHAOYANG, "朝阳区")
    for uid, profile in ENTERPRISES.items():
        store.put_profile(uid, profile)
    yield svc
    store.close()


def test_the_overview_counts_every_enterprise_of_the_district(services):
    view = services.oversight.overview(HAIDIAN)
    assert view["districts"] == ("海淀区",) and view["enterprises"] == 4 and view["consenting"] == 3
    assert view["by_tier"] == {"innovative": 2, "specialized": 1, "little_giant": 1, "none": 0}
    assert view["update"] == {"done": 1, "pending": 3, "overdue": 0}
    kinds = {k for w in view["weeks"] for k in w["kinds"]}
    assert {"annual_update", "change_filing"} <= kinds


def test_the_table_names_only_consenting_enterprises_of_ones_own_district(services):
    rows, hidden = services.oversight.rows(HAIDIAN)
    names = {r.name for r in rows}
    assert names == {"甲科技有限公司", "乙软件有限公司", "=HYPERLINK(\"http://x\")"} and hidden == 1
    rename = next(r for r in rows if r.kind == "change_filing")
    assert (rename.name, rename.due, rename.status) == ("乙软件有限公司", dt.date(2026, 6, 20), "pending")
    done = next(r for r in rows if r.name == "甲科技有限公司" and r.kind == "annual_update")
    assert done.status == "done"


@pytest.mark.parametrize("filters, expected", [
    ({"kind": "annual_update", "status": "pending", "due_to": dt.date(2026, 5, 31)},
     {"乙软件有限公司", "=HYPERLINK(\"http://x\")"}),
    ({"tier": "specialized"}, {"甲科技有限公司"}),
    ({"due_to": dt.date(2026, 5, 31)}, {"乙软件有限公司", "=HYPERLINK(\"http://x\")", "甲科技有限公司"}),
    ({"due_from": dt.date(2026, 6, 1), "kind": "change_filing"}, {"乙软件有限公司"}),
], ids=["who has not updated by 31 May", "by tier", "due by 31 May", "a kind due from June"])
def test_filters(services, filters, expected):
    rows, _ = services.oversight.rows(HAIDIAN, **filters)
    assert {r.name for r in rows} == expected


@pytest.mark.parametrize("actor, district", [
    (HAIDIAN, "朝阳区"), (CHAOYANG, "海淀区"), (HAIDIAN, CITY_WIDE),
], ids=["海淀区 asks for 朝阳区", "朝阳区 asks for 海淀区", "district staff asking for the whole city get their own"])
def test_district_staff_never_reach_another_district(services, actor, district):
    if district == CITY_WIDE:
        assert services.oversight.reach(actor, district) == ("海淀区",)
        return
    for call in (lambda: services.oversight.overview(actor, district),
                 lambda: services.oversight.rows(actor, district),
                 lambda: services.oversight.csv(actor, district=district)):
        with pytest.raises(NotAllowed):
            call()
        row = services.staff.audit_log(limit=1)[0]
        assert (row["user_id"], row["allowed"]) == (actor, 0)


def test_city_wide_staff_see_all_or_one(services):
    assert services.oversight.overview(CITY)["enterprises"] == 5
    assert services.oversight.overview(CITY, "朝阳区")["enterprises"] == 1


@pytest.mark.parametrize("actor, filters", [(5, {}), (HAIDIAN, {"kind": "bogus"}), (HAIDIAN, {"district": "火星区"})],
                         ids=["a stranger", "an unknown kind", "an unknown district"])
def test_bad_requests_are_refused(services, actor, filters):
    with pytest.raises(StaffError):
        services.oversight.rows(actor, **filters)


def test_the_csv_has_a_bom_the_same_rows_and_neutralised_formulas(services):
    data = services.oversight.csv(HAIDIAN)
    assert services.staff.audit_log(limit=1)[0]["action"] == "console_export"
    assert data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    rows, _ = services.oversight.rows(HAIDIAN)
    assert table[0][0] == "企业名称" and len(table) == len(rows) + 1
    assert "'=HYPERLINK(\"http://x\")" in [r[0] for r in table]
    assert "丙不同意有限公司" not in data.decode("utf-8-sig") and "丁朝阳有限公司" not in data.decode("utf-8-sig")


def test_subscribers_are_counted_by_tier(services):
    services.subscriptions.subscribe(101, 101)
    services.subscriptions.subscribe(103, 103)
    view = services.oversight.overview(HAIDIAN)
    assert view["subscribed"] == 2
    assert view["subscribed_by_tier"] == {"innovative": 0, "specialized": 1, "little_giant": 1, "none": 0}


def test_a_changed_consent_or_a_forgotten_profile_shows_on_the_next_call(services):
    """Evaluations are remembered, but never past a change of the profile they came from."""
    assert "甲科技有限公司" in {r.name for r in services.oversight.rows(HAIDIAN)[0]}
    withdrawn = {**ENTERPRISES[101], "share_with_district": False}
    withdrawn.pop("shared_since")
    services.store.put_profile(101, withdrawn)
    rows, hidden = services.oversight.rows(HAIDIAN)
    assert "甲科技有限公司" not in {r.name for r in rows} and hidden == 2
    services.store.forget_user(101)
    assert services.oversight.overview(HAIDIAN)["enterprises"] == 3
    assert 101 not in services.oversight._memo  # nothing of a forgotten enterprise is kept in memory


def test_a_profile_that_moved_district_is_counted_in_its_new_district_only(services):
    services.oversight.overview(CITY)
    services.store.put_profile(104, {**ENTERPRISES[104], "district": "海淀区"})
    assert services.oversight.overview(CITY, "朝阳区")["enterprises"] == 0
    assert services.oversight.overview(HAIDIAN)["enterprises"] == 5


def test_an_unreadable_profile_is_skipped_not_fatal(services):
    services.store.db.execute("insert into profiles (user_id, data, updated) values (?, ?, ?)",
                              [999, "{not json", "2026-05-20"])
    services.store.db.execute("insert into profiles (user_id, data, updated) values (?, ?, ?)",
                              [998, '{"district": "海淀区", "titles": "nonsense"}', "2026-05-20"])
    assert services.oversight.overview(HAIDIAN)["enterprises"] == 4


def test_a_title_from_this_year_owes_its_first_update_next_year_and_is_not_counted_as_behind(services):
    """As the rules engine counts missed updates (ref 3): from the year after the period began."""
    before = services.oversight.overview(HAIDIAN)["update"]
    services.store.put_profile(106, {"district": "海淀区", "titles": title("innovative", "2026-03-01")})
    view = services.oversight.overview(HAIDIAN)
    assert view["enterprises"] == 5 and view["update"] == before
