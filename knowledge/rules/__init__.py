"""The rules engine: which obligations, deadlines, windows and statuses apply to an enterprise.

`evaluate(profile, today, params)` runs every rule in `RULES` — one pure function per kind, each
restating its clause of the notice (北京市经济和信息化局, 2026-02-09) and citing it in `ref` — and
returns a `Result`: the highest valid title, the status, the date that title is valid until, and
the items sorted by (due or start, kind). An item without a date (a status or a permission) sorts
as if dated `today`. `result_to_dict` gives the JSON shape of `python -m bot check --json`.

Conventions (issue 3, followed to the letter):
- D + 3 months / D + 3 years: same day of the month, or that month's last day (2026-11-30 →
  2027-02-28; 2024-02-29 + 3 years → 2027-02-28).
- A title is valid from `since` through `since + 3 years − 1 day` (`valid_until`).
- The highest valid title counts (little_giant > specialized > innovative; between two titles of
  one tier, the later `since`): the annual update and the review are listed once, for it.
- "N working days after D" counts from the day after D on the official calendar
  (`knowledge.workdays`); an item that needed a year the calendar does not cover has
  `estimate=True`.

Layout: `params` (what config.toml adds), `dates` (date arithmetic), `items` (what a rule
returns), `standing` (the status every rule starts from), one module per family of rules
(`updates`, `changes`, `incidents`, `reviews`, `applications`, `certificates`) and `engine`
(`RULES`, `evaluate`, the JSON shape). Everything public is re-exported here.

Purity: a rule is a pure function of (profile, today, params, standing). `evaluate` computes the
standing once per call and hands it to every rule; nothing is kept between calls. `add_months`
and `valid_until` are memoised, which changes no answer.

Decisions on the corners the issue leaves open:
- Status. "none": no titles. "cancelled": the highest valid title has two or more missed updates
  in its validity period (ref 3), or an incident cancelled the enterprise's titles and no valid
  title is left (ref 4.3). "expired": titles exist, none is valid today, none was cancelled.
  "valid": otherwise. `title` and `valid_until` are those of the highest valid title and are null
  for any status but "valid" (a cancelled or expired title is not a valid one).
- Incidents cancel the titles held when they happened: a title with `since` ≤ incident date ≤
  `valid_until`. A title recognised after the incident (the enterprise re-applied — after the
  three-year ban, or earlier after credit repair, which 4.3 allows) is not affected, so the
  enterprise can be "valid" again. An incident after a title had already expired cancels nothing
  (the title was no longer "有效期内"); the status stays "expired". This is the only place the
  engine reads "any incident" less than literally.
- A `cancelled` item (undated, ref 3 or 4.3) explains a cancelled status; it is the issue's
  "status cancelled" kind.
- For a cancelled enterprise the title-bound obligations are dropped: annual_update,
  key_monitoring, expiry_review, change_filing, major_change_report, certificate. Kept:
  cancelled, reapply_ban / reapply_allowed, and the plan-driven items (innovative_cycle,
  giant_window, not_eligible, application_closed) and application_policy.
- While a reapply ban is in force (an unremedied incident, today < incident + 3 years) the
  plan-driven items are dropped — the enterprise may not apply; reapply_ban says until when.
  A missed-update cancellation carries no ban (the notice states none), so plans stay listed.
- reapply_ban and reapply_allowed are listed for every incident, also once the three years are
  over (the text then says the enterprise may apply again). reapply_allowed is undated.
- annual_update: due 31 May this year if today ≤ 31 May and this year is not in `updates`, else
  31 May next year — also in the year the title was recognised (the notice: "有效期内的…应于每年
  5月31日前"), and also when the title expires before that 31 May (the `why` says a renewed title
  still needs it). key_monitoring, as the issue says, counts a missed year only after the year of
  `since` (and only a 31 May strictly before today: on 31 May the update is still on time).
- key_monitoring is undated (a status), with `missed_years` and `next_due`.
- change_filing / major_change_report: only for a change that happened while a title was valid
  and not cancelled ("有效期内的…如发生"); an unreported change stays listed after its due date,
  with `overdue: true`.
- expiry_review: for the highest valid title when `valid_until` ≤ today + 365 days: start null
  and due `valid_until` (ref 2.1). For the 2023 cohort (`since` in 2023) of innovative and
  specialized titles: start 2026-01-01, due 2026-03-31 (ref 2.2). For a little_giant: the 小巨人
  window of the year it expires — Q2, 1 Apr – 30 Jun, or `[windows.giant.<year>]` from
  config.toml, which the notice (1.3) also makes the review's time (ref 2.2 for the 2023 cohort,
  1.3 otherwise). Rule 2.3 (a 2023-cohort title stays valid until the review list is announced)
  does not extend any date: such a title past `valid_until` counts as expired, but its review is
  still listed until the end of its 2026 review window, and the `why`/`text` say it remains valid
  until the list is announced. Only the highest of the valid and these 2023-cohort titles is
  reviewed ("只需按照自身所获得最高一级称号参加复核"). A window already over is listed with
  `overdue: true` while the title is still within 365 days of `valid_until`.
- giant_window / not_eligible: a valid little_giant counts as holding the specialized title (the
  小巨人 is the higher tier of 专精特新); plans are taken as declared. The next window is this
  year's while today ≤ its end, else next year's.
- innovative_cycle: listed whenever plans include innovative, whatever is held;
  `district_report_by` is the 25th of the next month. Its ref is "1.1" as the issue gives it: the
  section 一（一）, whose items 1.1.1 (the monthly cycle) and 1.1.2 (the district's report by the
  25th) it combines. application_policy / application_closed likewise cite the section "1.2".
- application_policy: undated, for an application for specialized: "old" when submitted on or
  before 2026-02-28, otherwise "new" (a March 2026 submission — the module was closed — is "new",
  and the text asks to check the date).
- application_closed: start 2026-03-01, due 2026-03-31, only when today is in March 2026.
- certificate: for every title that is not cancelled: start = the 10th working day after `since`,
  no due, listed while today − start < 30 days.
"""

from knowledge.rules.dates import add_months, add_years, valid_until
from knowledge.rules.engine import KINDS, RULES, Rule, evaluate, item_sort_key, item_to_dict, result_to_dict
from knowledge.rules.items import APP_PATH, PLATFORM, QUERY_SYSTEM, STATUSES, Item, Result
from knowledge.rules.params import ConfigError, Params
from knowledge.rules.standing import Standing, standing_of
from knowledge.wording import cn

__all__ = [
    "APP_PATH", "ConfigError", "Item", "KINDS", "PLATFORM", "Params", "QUERY_SYSTEM", "RULES", "Result", "Rule",
    "STATUSES", "Standing", "add_months", "add_years", "cn", "evaluate", "item_sort_key", "item_to_dict",
    "result_to_dict", "standing_of", "valid_until",
]
