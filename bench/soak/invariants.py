"""The database's own consistency, whatever the requests were: each query returns the rows that
break a rule (none is the pass). Together they show that nothing is half-applied: a row exists
only with the rows, audit entries and events the same transaction had to write with it."""

from __future__ import annotations

# name -> (what must hold, the query returning its violations)
RULES: dict[str, tuple[str, str]] = {
    "draft_untouched": (
        "a draft has no pledges and no approval clock",
        """SELECT a.id FROM applications a
           WHERE a.state = 'draft'
             AND (EXISTS (SELECT 1 FROM pledges p WHERE p.application_id = a.id)
                  OR EXISTS (SELECT 1 FROM approval_clocks c WHERE c.application_id = a.id))""",
    ),
    "submitted_has_pledges": (
        "an application with a clock has a pledge on each of its assets",
        """SELECT a.id FROM applications a JOIN application_assets aa ON aa.application_id = a.id
           WHERE EXISTS (SELECT 1 FROM approval_clocks c WHERE c.application_id = a.id)
             AND NOT EXISTS (SELECT 1 FROM pledges p
                             WHERE p.application_id = a.id AND p.ip_asset_id = aa.ip_asset_id)""",
    ),
    "pledge_matches_application": (
        "pledge states follow the application's (proposed while open, registered or released "
        "once disbursed, cancelled when declined or withdrawn)",
        """SELECT p.id, p.state, a.state FROM pledges p JOIN applications a
                  ON a.id = p.application_id
           WHERE NOT CASE a.state
               WHEN 'submitted' THEN p.state = 'proposed'
               WHEN 'under_review' THEN p.state = 'proposed'
               WHEN 'awaiting_information' THEN p.state = 'proposed'
               WHEN 'approved' THEN p.state IN ('proposed', 'registered')
               WHEN 'disbursed' THEN p.state IN ('registered', 'released')
               WHEN 'declined' THEN p.state = 'cancelled'
               WHEN 'withdrawn' THEN p.state = 'cancelled'
               ELSE false END""",
    ),
    "loan_iff_disbursed": (
        "an application is disbursed exactly when it has a loan, for its approved amount",
        """SELECT a.id FROM applications a LEFT JOIN loans l ON l.application_id = a.id
           WHERE (a.state = 'disbursed') <> (l.id IS NOT NULL)
              OR (l.id IS NOT NULL AND l.principal <> a.approved_amount)""",
    ),
    "loan_balances": (
        "a loan's outstanding principal is its principal less the principal repaid, and its "
        "instalments carry exactly what its repayments paid",
        """SELECT l.id FROM loans l
           LEFT JOIN (SELECT loan_id, sum(principal_paid) AS p, sum(interest_paid) AS i
                      FROM loan_repayments GROUP BY loan_id) r ON r.loan_id = l.id
           LEFT JOIN (SELECT loan_id, sum(paid_principal) AS p, sum(paid_interest) AS i
                      FROM loan_installments GROUP BY loan_id) s ON s.loan_id = l.id
           WHERE l.outstanding_principal <> l.principal - coalesce(r.p, 0)
              OR coalesce(s.p, 0) <> coalesce(r.p, 0) OR coalesce(s.i, 0) <> coalesce(r.i, 0)""",
    ),
    "clocks_follow_state": (
        "only the latest clock may run, and it runs exactly while the application is submitted "
        "or under review",
        """SELECT a.id FROM applications a JOIN approval_clocks c ON c.application_id = a.id
           WHERE (c.stopped_at IS NULL) <> (
                   a.state IN ('submitted', 'under_review')
                   AND c.seq = (SELECT max(seq) FROM approval_clocks x
                                WHERE x.application_id = a.id))""",
    ),
    "rows_audited": (
        "every enterprise, IP asset, application and loan has the audit entry of its creation",
        """SELECT t.kind, t.id FROM (
               SELECT 'enterprise' AS kind, id::text AS id FROM enterprises
               UNION ALL SELECT 'ip_asset', id::text FROM ip_assets
               UNION ALL SELECT 'application', id::text FROM applications
               UNION ALL SELECT 'loan', id::text FROM loans) t
           WHERE NOT EXISTS (SELECT 1 FROM audit_events e
                             WHERE e.entity_type = t.kind AND e.entity_id = t.id)""",
    ),
    "events_match_facts": (
        "one application.submitted event per clock, one approved/declined event per decision, "
        "one loan.disbursed per loan, one subsidy.claim.created per claim",
        """SELECT 'submitted' AS what, a.id::text FROM applications a
           WHERE (SELECT count(*) FROM approval_clocks c WHERE c.application_id = a.id)
              <> (SELECT count(*) FROM outbox_events e WHERE e.type = 'application.submitted'
                  AND e.data->>'application_id' = a.id::text)
           UNION ALL
           SELECT 'decided', a.id::text FROM applications a
           WHERE (SELECT count(*) FROM outbox_events e
                  WHERE e.type IN ('application.approved', 'application.declined')
                    AND e.data->>'application_id' = a.id::text)
              <> (a.outcome IS NOT NULL)::int
           UNION ALL
           SELECT 'disbursed', l.id::text FROM loans l
           WHERE (SELECT count(*) FROM outbox_events e WHERE e.type = 'loan.disbursed'
                  AND e.data->>'loan_id' = l.id::text) <> 1
           UNION ALL
           SELECT 'claim', c.id::text FROM subsidy_claims c
           WHERE (SELECT count(*) FROM outbox_events e WHERE e.type = 'subsidy.claim.created'
                  AND e.data->>'claim_id' = c.id::text) <> 1""",
    ),
    "one_live_pledge_per_asset": (
        "no IP asset has two live (proposed or registered) pledges",
        """SELECT ip_asset_id, count(*) FROM pledges WHERE state IN ('proposed', 'registered')
           GROUP BY ip_asset_id HAVING count(*) > 1""",
    ),
    "budget_holds": (
        "no programme's pending, approved and paid claims add up to more than its budget",
        """SELECT p.id, p.annual_budget, sum(c.amount) FROM subsidy_programs p
           JOIN subsidy_claims c ON c.program_id = p.id
                AND c.state IN ('pending', 'approved', 'paid')
           GROUP BY p.id, p.annual_budget HAVING sum(c.amount) > p.annual_budget""",
    ),
    "sla_events_once": (
        "each clock has exactly one sla_at_risk (sla_breached) event if it was reported at risk "
        "(breached), and none otherwise",
        """SELECT c.application_id, c.seq, t.type, t.marked, count(e.id) FROM approval_clocks c
           CROSS JOIN LATERAL (VALUES
               ('application.sla_at_risk', c.at_risk_notified_at IS NOT NULL),
               ('application.sla_breached', c.breached_notified_at IS NOT NULL)) t(type, marked)
           LEFT JOIN outbox_events e ON e.type = t.type
                AND e.data->>'application_id' = c.application_id::text
                AND (e.data->>'clock_seq')::int = c.seq
           GROUP BY c.application_id, c.seq, t.type, t.marked
           HAVING count(e.id) <> t.marked::int""",
    ),
    "sla_events_due": (
        "every open clock whose deadline date has come was reported at risk, and breached once "
        "past its deadline",
        """SELECT c.application_id, c.seq FROM approval_clocks c
           WHERE c.stopped_at IS NULL AND c.deadline_date IS NOT NULL
             AND ((c.deadline_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date
                   AND c.at_risk_notified_at IS NULL)
                  OR (c.deadline_at < now() - interval '15 seconds'
                      AND c.breached_notified_at IS NULL))""",
    ),
}

# What a passing rule covered, shown beside its verdict.
FACTS: dict[str, str] = {
    "draft_untouched": "SELECT count(*) || ' drafts' FROM applications WHERE state = 'draft'",
    "submitted_has_pledges": """SELECT count(DISTINCT application_id) || ' submitted applications'
                                FROM approval_clocks""",
    "loan_iff_disbursed": "SELECT count(*) || ' applications' FROM applications",
    "rows_audited": """SELECT (SELECT count(*) FROM enterprises) + (SELECT count(*) FROM ip_assets)
                              + (SELECT count(*) FROM applications) + (SELECT count(*) FROM loans)
                              || ' rows'""",
    "sla_events_due": """SELECT count(*) || ' open clocks past their deadline date'
                         FROM approval_clocks WHERE stopped_at IS NULL
                           AND deadline_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date""",
    "pledge_matches_application": "SELECT count(*) || ' pledges' FROM pledges",
    "loan_balances": """SELECT count(DISTINCT l.id) || ' loans, ' || count(r.id) || ' repayments'
                        FROM loans l LEFT JOIN loan_repayments r ON r.loan_id = l.id""",
    "clocks_follow_state": "SELECT count(*) || ' clocks' FROM approval_clocks",
    "events_match_facts": "SELECT count(*) || ' events' FROM outbox_events",
    "one_live_pledge_per_asset": """SELECT count(*) || ' live pledges' FROM pledges
                                    WHERE state IN ('proposed', 'registered')""",
    "budget_holds": """SELECT string_agg(c.committed || ' of ' || p.annual_budget || ' committed ('
                              || c.n || ' claims)', '; ')
                       FROM subsidy_programs p,
                            LATERAL (SELECT coalesce(sum(amount), 0) AS committed, count(*) AS n
                                     FROM subsidy_claims WHERE program_id = p.id
                                       AND state IN ('pending', 'approved', 'paid')) c""",
    "sla_events_once": """SELECT count(*) FILTER (WHERE type = 'application.sla_at_risk')
                                 || ' at-risk and '
                                 || count(*) FILTER (WHERE type = 'application.sla_breached')
                                 || ' breached events'
                          FROM outbox_events""",
}
