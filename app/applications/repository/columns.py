"""What every read of an application selects: the row, its assets, clocks, pledges and quote."""

from __future__ import annotations

BASE_COLUMNS = """
    a.id, a.reference, a.state, a.enterprise_id, a.relationship_manager_id, a.amount,
    a.term_months, a.purpose, a.district_code, a.industry, a.created_at, a.updated_at,
    a.version, a.received_at, a.tier_working_days, a.deadline_date, a.deadline_at,
    a.decided_at, a.outcome, a.approved_amount, a.rate_bp, a.quote_id, a.decision_reason,
    a.return_reason, a.withdraw_reason"""

# The application's assets, in the order every answer lists them.
IP_ASSET_IDS = """ARRAY(SELECT aa.ip_asset_id FROM application_assets aa
          WHERE aa.application_id = a.id ORDER BY aa.ip_asset_id) AS ip_asset_ids"""

DETAIL_COLUMNS = (
    BASE_COLUMNS
    + ",\n    "
    + IP_ASSET_IDS
    + """,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'seq', c.seq, 'tier_working_days', c.tier_working_days,
                'received_at', c.received_at, 'deadline_date', c.deadline_date,
                'deadline_at', c.deadline_at, 'stopped_at', c.stopped_at,
                'stop_reason', c.stop_reason) ORDER BY c.seq), '[]'::jsonb)
     FROM approval_clocks c WHERE c.application_id = a.id) AS clocks,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', p.id, 'ip_asset_id', p.ip_asset_id, 'state', p.state,
                'registration_no', p.registration_no, 'registered_on', p.registered_on,
                'version', p.version) ORDER BY p.id), '[]'::jsonb)
     FROM pledges p WHERE p.application_id = a.id) AS pledges,
    (SELECT jsonb_build_object(
                'id', q.id, 'application_id', q.application_id, 'quote_date', q.quote_date,
                'amount', q.amount::text, 'term_months', q.term_months, 'lpr_bp', q.lpr_bp,
                'lpr_date', q.lpr_date, 'spread_bp', q.spread_bp, 'components', q.components,
                'discount_uncapped_bp', q.discount_uncapped_bp, 'discount_bp', q.discount_bp,
                'rate_bp', q.rate_bp, 'created_at', q.created_at)
     FROM application_quotes q WHERE q.id = a.quote_id) AS quote
"""
)
