"""The rules engine: which obligations, deadlines, windows and statuses apply to an enterprise.

`evaluate(profile, today, params)` runs every rule in `RULES` — one pure function per kind, each
restating its clause of the notice (北京市经济和信息化局, 2026-02-09) and citing it in `ref` — and
returns a `Result`: the highest valid title, the status, the date that title is valid until, and
the items sorted by (due or start, kind). An item without a date (a status or a permission) sorts
as if dated `today`. `result_to_dict` gives the JSON shape of `python -m bot check --json`.

Conventions (issue 3, followed to the letter):
- D + 3 months / D + 3 years: same day of the month, or that month's last day (2026-11-30 →
  2027-02-28; 2024-02-29 + 3 years → 2027-02-28).
- A title is valid from `since` through `since + 3 years − 1 day` (`valid_until`), except a title
  of the 2023 cohort (二、3, below).
- The highest valid title counts (little_giant > specialized > innovative; between two titles of
  one tier, the later `since`): the annual update and the review are listed once, for it.
- "N working days after D" counts from the day after D on the official calendar
  (`knowledge.workdays`); an item that needed a year the calendar does not cover has
  `estimate=True`.

Dates and sources: the notice's dates and periods come from knowledge/data/clauses.toml
(`dates.SPECS`); what was announced since — follow-up notices, windows set by district staff or in
config.toml — comes as events (`knowledge.events`) in `Params.events`, and replaces the notice's
date from its publication on; on a conflict the later publication wins. Every item carries its
`source`: the notice, or the follow-up / announcement whose dates it uses.

Layout: `params` (the notice's values, events, what config.toml adds), `dates` (the notice's
dates and date arithmetic), `items` (what a rule returns), `standing` (the status every rule starts
from), one module per family of rules (`updates`, `changes`, `incidents`, `reviews`,
`applications`, `certificates`) and `engine` (`RULES`, `evaluate`, the JSON shape). Everything
public is re-exported here.

Purity: a rule is a pure function of (profile, today, params, standing). `evaluate` computes the
standing once per call and hands it to every rule; nothing is kept between calls. `add_months`
and `valid_until` are memoised, which changes no answer.

Decisions on the corners the issue leaves open:
- Status. "none": no titles. "cancelled": the highest valid title has two or more missed updates
  in its validity period (ref 3), or an incident cancelled the enterprise's titles and no valid
  title is left (ref 4.3). "expired": titles exist, none is valid today, none was cancelled.
  "valid": otherwise. `title` and `valid_until` are those of the highest valid title and are null
  for any status but "valid" (a cancelled or expired title is not a valid one); `valid_until` is
  also null for a title of the 2023 cohort waiting for its review list.
- 二、3, the 2023 cohort (a title announced or renewed in 2023, whatever `today` is): until a
  `review_list_published` event for its tier and cohort, published by `today`, the title is valid
  with no end date, and a `pending_review_list` item (undated, ref 2.3) says so; every obligation
  of a title holder applies meanwhile (annual update, key monitoring, change filings, the review).
  After the event: if the profile records a passed review of that tier dated on or after `since`,
  the title is renewed for three years — from the original end or from the list's publication
  (二、1 does not say; `renewal_period.reading` in the data, default the reading that ends
  earlier, unless the event settles it) — else it lapses the day the list is published. A
  `review_list` item (undated, `outcome` renewed, ref 2.1, `estimate` and a `note` naming the
  reading; or lapsed, ref 2.3) explains it, for the title that counts, with the list's source.
  A renewed period counts missed updates from its own first year.
- Incidents cancel the titles held when they happened: a title with `since` ≤ incident date ≤
  its last valid day (none for a pending title). A title recognised after the incident (the
  enterprise re-applied — after the three-year ban, or earlier after credit repair, which 4.3
  allows) is not affected, so the enterprise can be "valid" again. An incident after a title had
  already expired cancels nothing (the title was no longer "有效期内"); the status stays
  "expired". This is the only place the engine reads "any incident" less than literally.
- A `cancelled` item (undated, ref 3 or 4.3) explains a cancelled status; it is the issue's
  "status cancelled" kind.
- For a cancelled enterprise the title-bound obligations are dropped: annual_update,
  key_monitoring, expiry_review, pending_review_list, review_list, change_filing,
  major_change_report, certificate. Kept: cancelled, reapply_ban / reapply_allowed, and the
  plan-driven items (innovative_cycle, giant_window, not_eligible, application_closed,
  specialized_window) and application_policy.
- While a reapply ban is in force (an unremedied incident, today < incident + 3 years) the
  plan-driven items are dropped — the enterprise may not apply; reapply_ban says until when.
  A missed-update cancellation carries no ban (the notice states none), so plans stay listed.
- reapply_ban and reapply_allowed are listed for every incident, also once the three years are
  over (the text then says the enterprise may apply again). reapply_allowed is undated.
- annual_update: due 31 May this year if today ≤ 31 May and this year is not in `updates`, else
  31 May next year (a `deadline_changed` event for `annual_update_deadline` moves one year's) —
  also in the year the title was recognised (the notice: "有效期内的…应于每年5月31日前"), and
  also when the title expires before that 31 May (the `why` says a renewed title still needs it).
  key_monitoring, as the issue says, counts a missed year only after the year of `since` (or of
  a renewal's start), and only a 31 May strictly before today: on 31 May the update is still on
  time.
- key_monitoring is undated (a status), with `missed_years` and `next_due`.
- change_filing / major_change_report: only for a change that happened while a title was valid
  and not cancelled ("有效期内的…如发生"); an unreported change stays listed after its due date,
  with `overdue: true`.
- expiry_review: for the highest valid title ("只需按照自身所获得最高一级称号参加复核") when its
  end (for a pending 2023-cohort title, its original end) ≤ today + 365 days, unless the profile
  records a review of it (the enterprise took part): start null and due the end (ref 2.1), or a
  review window announced for the district or the city for the year it ends. For the 2023
  cohort of innovative and specialized titles: an announced 2026 review window, else 2026-01-01 –
  2026-03-31 (ref 2.2). For a little_giant: its review window, else the 小巨人 application window
  of the year (1.3 makes it the review's time too), else Q2, 1 Apr – 30 Jun (ref 2.2 for the
  2023 cohort, 1.3 otherwise). A window already over is listed with `overdue: true`, while the
  title is within 365 days of its end or, for the 2023 cohort, until the list is published.
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
- specialized_window: only once a `specialized_application` window is announced for the
  district or the city (一（二）: 相关工作安排另行通知); this year's while today ≤ its end, else
  next year's; ref 1.2.
- certificate: for every title that is not cancelled: start = the 10th working day after `since`,
  no due, listed while today − start < 30 days.
"""

from knowledge.rules.dates import add_months, add_years, valid_until
from knowledge.rules.engine import KINDS, RULES, Rule, evaluate, item_sort_key, item_to_dict, result_to_dict
from knowledge.rules.items import APP_PATH, PLATFORM, QUERY_SYSTEM, STATUSES, Item, Result
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing, Term, standing_of
from knowledge.wording import cn

__all__ = [
    "APP_PATH", "Item", "KINDS", "PLATFORM", "Params", "QUERY_SYSTEM", "RULES", "Result", "Rule",
    "STATUSES", "Standing", "Term", "add_months", "add_years", "cn", "evaluate", "item_sort_key", "item_to_dict",
    "result_to_dict", "standing_of", "valid_until",
]
