"""The reports' SQL: each report is one aggregate statement, one round trip.

Applications are selected by the receipt of their current clock (``received_at``, the column
the application list filters on), so every count here can be drilled into with
``GET /v1/applications?received_from=…&received_to=…``.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from app.applications.sla import SlaState
from app.applications.states import ApplicationState, sql_list
from app.core.db import Db
from app.models.enterprise import INDUSTRIES
from app.models.pledge import PledgeState
from app.models.subsidy_claim import ClaimState
from app.subsidies import in_force

# The SLA states a report counts, in the order of their codes below.
SLA_STATES = (
    SlaState.MET,
    SlaState.MISSED,
    SlaState.RUNNING,
    SlaState.AT_RISK,
    SlaState.BREACHED,
    SlaState.PAUSED,
    SlaState.WITHDRAWN,
    SlaState.PENDING_CALENDAR,
)
_CODE = {state: i for i, state in enumerate(SLA_STATES)}

# The SQL twin of ``sla.application_sla_state`` (and of ``sla.sla_filter``) over an
# ``applications`` row ``a``, true at $3 (now) and $4 (today), as an index into SLA_STATES: a
# narrow integer keeps the grouping of a million rows in a hash table. A decision is judged
# first: an application approved and withdrawn afterwards keeps its verdict.
_SLA_STATE = f"""
    CASE
        WHEN a.decided_at IS NOT NULL THEN
            CASE WHEN a.deadline_at IS NULL THEN {_CODE[SlaState.PENDING_CALENDAR]}
                 WHEN a.decided_at <= a.deadline_at THEN {_CODE[SlaState.MET]}
                 ELSE {_CODE[SlaState.MISSED]} END
        WHEN a.state = '{ApplicationState.AWAITING_INFORMATION}' THEN {_CODE[SlaState.PAUSED]}
        WHEN a.state = '{ApplicationState.WITHDRAWN}' THEN {_CODE[SlaState.WITHDRAWN]}
        WHEN a.deadline_at IS NULL THEN {_CODE[SlaState.PENDING_CALENDAR]}
        WHEN a.deadline_at < $3 THEN {_CODE[SlaState.BREACHED]}
        WHEN a.deadline_date = $4 THEN {_CODE[SlaState.AT_RISK]}
        ELSE {_CODE[SlaState.RUNNING]}
    END"""

# Rows are first folded into (tier, state, receipt date, decision date) groups, a few thousand
# at most, so the working-day arithmetic and the median never touch a row per application.
# Working days between two dates are the difference of a running count of working days, valid
# only when both dates lie in one run of consecutive published years (the calendar index's
# rule: never guess across an unpublished year).
_SLA = f"""
WITH grouped AS (
    SELECT a.tier_working_days AS tier, {_SLA_STATE} AS sla_state,
           (a.received_at AT TIME ZONE 'Asia/Shanghai')::date AS received_on,
           (a.decided_at AT TIME ZONE 'Asia/Shanghai')::date AS decided_on,
           count(*) AS n
    FROM applications a
    WHERE a.received_at >= $1 AND a.received_at < $2 {{scope}}
    GROUP BY 1, 2, 3, 4
),
years AS (
    SELECT year, year - row_number() OVER (ORDER BY year) AS run
    FROM calendar_years WHERE published
),
cal AS (
    SELECT d.day, y.run, count(*) FILTER (WHERE d.is_working) OVER (ORDER BY d.day) AS worked
    FROM calendar_days d JOIN years y ON y.year = extract(year FROM d.day)
),
decisions AS (
    SELECT CASE WHEN grouping(g.tier) = 1 THEN 0 ELSE g.tier END AS tier,
           dc.worked - rc.worked AS days, sum(g.n) AS n
    FROM grouped g
    JOIN cal rc ON rc.day = g.received_on
    JOIN cal dc ON dc.day = g.decided_on AND dc.run = rc.run
    WHERE g.sla_state IN ({_CODE[SlaState.MET]}, {_CODE[SlaState.MISSED]})
    GROUP BY GROUPING SETS ((g.tier, dc.worked - rc.worked), (dc.worked - rc.worked))
),
ranked AS (
    SELECT tier, days, sum(n) OVER (PARTITION BY tier ORDER BY days) AS upto,
           sum(n) OVER (PARTITION BY tier) AS total
    FROM decisions
),
medians AS (
    SELECT tier,
           (min(days) FILTER (WHERE upto >= div(total + 1, 2))
            + min(days) FILTER (WHERE upto >= div(total, 2) + 1)) / 2.0 AS median
    FROM ranked GROUP BY tier
),
counts AS (
    SELECT CASE WHEN grouping(tier) = 1 THEN 0 ELSE tier END AS tier,
           coalesce(sum(n), 0)::bigint AS received,
           {{states}}
    FROM grouped GROUP BY GROUPING SETS ((tier), ())
)
SELECT c.*, round(m.median, 1) AS median
FROM counts c LEFT JOIN medians m USING (tier)
"""

_STATE_SUMS = ",\n           ".join(
    f"coalesce(sum(n) FILTER (WHERE sla_state = {i}), 0)::bigint AS {s}"
    for i, s in enumerate(SLA_STATES)
)


async def sla_figures(
    db: Db,
    *,
    received_from: datetime,
    received_before: datetime,
    now: datetime,
    today: date,
    relationship_manager_id: str | None,
) -> list[asyncpg.Record]:
    """One row per tier present (``tier`` 3, 5, 10) and one for all (``tier`` 0)."""
    args: list[object] = [received_from, received_before, now, today]
    scope = ""
    if relationship_manager_id is not None:
        args.append(relationship_manager_id)
        scope = "AND a.relationship_manager_id = $5"
    return await db.fetch(_SLA.format(scope=scope, states=_STATE_SUMS), *args)


# Applications are folded per enterprise first, so that "enterprises served" is a count of rows
# rather than a count(DISTINCT) per grouping set; an enterprise's industry and district are
# fixed (applications copy them at intake). The registered pledges and the approvals they
# secure are folded in a second pass over their join, rather than as a count per application
# joined back: both passes are then parallel scans with a shared hash.
_APPROVED = f"a.state IN {sql_list((ApplicationState.APPROVED, ApplicationState.DISBURSED))}"
_REGISTERED = f"p.registered_on IS NOT NULL AND p.state <> '{PledgeState.CANCELLED}'"
_CAMPAIGN = f"""
WITH received AS (
    SELECT a.enterprise_id, count(*) AS applications,
           count(*) FILTER (WHERE {_APPROVED}) AS approvals,
           coalesce(sum(a.approved_amount) FILTER (WHERE {_APPROVED}), 0) AS approved_amount
    FROM applications a
    WHERE a.received_at >= $1 AND a.received_at < $2 {{scope}}
    GROUP BY a.enterprise_id
),
pledged AS (
    -- One row per registered pledge of an approval; its application's amount is counted once,
    -- on the first of its pledges.
    SELECT x.enterprise_id, count(*) AS ip_pledges,
           coalesce(sum(x.approved_amount) FILTER (WHERE x.nth = 1), 0) AS secured_amount
    FROM (
        SELECT a.enterprise_id, a.approved_amount,
               row_number() OVER (PARTITION BY p.application_id) AS nth
        FROM pledges p JOIN applications a ON a.id = p.application_id
        WHERE {_REGISTERED} AND {_APPROVED}
          AND a.received_at >= $1 AND a.received_at < $2 {{scope}}
    ) AS x
    GROUP BY x.enterprise_id
),
figures AS (
    SELECT grouping(e.industry) = 0 AS by_industry,
           grouping(e.district_code) = 0 AS by_district,
           e.industry, e.district_code,
           count(*) AS enterprises_served,
           count(*) FILTER (WHERE r.approvals > 0) AS enterprises_financed,
           coalesce(sum(r.applications), 0)::bigint AS applications,
           coalesce(sum(r.approvals), 0)::bigint AS approvals,
           coalesce(sum(r.approved_amount), 0) AS approved_amount,
           coalesce(sum(pl.ip_pledges), 0)::bigint AS ip_pledges,
           coalesce(sum(pl.secured_amount), 0) AS secured_amount
    FROM received r
    JOIN enterprises e ON e.id = r.enterprise_id
    LEFT JOIN pledged pl ON pl.enterprise_id = r.enterprise_id
    GROUP BY GROUPING SETS ((e.industry), (e.district_code), ())
)
SELECT 1 AS part, i.ord, 'industry' AS dimension, i.industry AS key, NULL AS name,
       f.enterprises_served, f.enterprises_financed, f.applications, f.approvals,
       f.approved_amount, f.ip_pledges, f.secured_amount
FROM unnest($3::text[]) WITH ORDINALITY AS i(industry, ord)
LEFT JOIN figures f ON f.by_industry AND f.industry = i.industry
UNION ALL
SELECT 2, 0, 'district', d.code, d.name, f.enterprises_served, f.enterprises_financed,
       f.applications, f.approvals, f.approved_amount, f.ip_pledges, f.secured_amount
FROM districts d LEFT JOIN figures f ON f.by_district AND f.district_code = d.code
UNION ALL
SELECT 3, 0, 'total', NULL, NULL, f.enterprises_served, f.enterprises_financed,
       f.applications, f.approvals, f.approved_amount, f.ip_pledges, f.secured_amount
FROM (SELECT) AS one LEFT JOIN figures f ON NOT f.by_industry AND NOT f.by_district
ORDER BY part, ord, key
"""


async def campaign_figures(
    db: Db,
    *,
    received_from: datetime,
    received_before: datetime,
    relationship_manager_id: str | None,
) -> list[asyncpg.Record]:
    """Rows of ``dimension`` 'industry' (every industry, in the model's order), 'district'
    (every district) and 'total'; figures are null where nothing was received."""
    args: list[object] = [received_from, received_before, list(INDUSTRIES)]
    scope = ""
    if relationship_manager_id is not None:
        args.append(relationship_manager_id)
        scope = "AND a.relationship_manager_id = $4"
    return await db.fetch(_CAMPAIGN.format(scope=scope), *args)


# A programme is reported when it is in force (``app.subsidies.in_force``: the dates of its
# effective period that fall in its budget year, the only dates claims are made on) on some
# date of the period.
# A claim approved, whether paid yet or not.
_APPROVED_CLAIM = f"('{ClaimState.APPROVED}', '{ClaimState.PAID}')"
_SUBSIDIES = f"""
WITH per_program AS (
    SELECT p.id AS program_id, p.district_code, p.kind, p.name, p.budget_year,
           p.annual_budget AS budget, p.annual_budget - p.committed AS remaining,
           count(c.id) AS claims,
           coalesce(sum(c.amount), 0) AS claimed,
           coalesce(sum(c.amount) FILTER (WHERE c.state = '{ClaimState.PENDING}'), 0) AS pending,
           coalesce(sum(c.amount) FILTER (WHERE c.state IN {_APPROVED_CLAIM}), 0) AS approved,
           coalesce(sum(c.amount) FILTER (WHERE c.state = '{ClaimState.REJECTED}'), 0) AS rejected,
           coalesce(sum(c.amount) FILTER (WHERE c.state = '{ClaimState.PAID}'), 0) AS paid
    FROM subsidy_programs p
    LEFT JOIN subsidy_claims c
           ON c.program_id = p.id AND c.basis_date >= $1 AND c.basis_date <= $2
    WHERE {{program_in_force}}
      {{scope}}
    GROUP BY p.id
)
SELECT false AS is_total, * FROM per_program
UNION ALL
SELECT true, NULL, NULL, NULL, NULL, NULL, coalesce(sum(budget), 0), coalesce(sum(remaining), 0),
       coalesce(sum(claims), 0)::bigint, coalesce(sum(claimed), 0), coalesce(sum(pending), 0),
       coalesce(sum(approved), 0), coalesce(sum(rejected), 0), coalesce(sum(paid), 0)
FROM per_program
ORDER BY is_total, district_code, budget_year, name, program_id
"""


async def subsidy_figures(
    db: Db, *, start: date, end: date, district_code: str | None
) -> list[asyncpg.Record]:
    """One row per programme in force during the period, then the total (``is_total``)."""
    args: list[object] = [start, end]
    scope = ""
    if district_code is not None:
        args.append(district_code)
        scope = "AND p.district_code = $3"
    sql = _SUBSIDIES.format(
        program_in_force=in_force.in_force_during_sql("p", "$1", "$2"), scope=scope
    )
    return await db.fetch(sql, *args)
