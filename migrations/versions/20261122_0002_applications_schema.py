"""The origination schema: calendar, enterprises, IP assets and valuations, applications with
their approval clocks, pledges, LPR fixings and quotes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:08:29.273795
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

UUID7_FUNCTION = """
CREATE FUNCTION uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subsidy_programs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("district_code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("share", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("cap_per_loan", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("cap_per_enterprise_year", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("annual_budget", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("budget_year", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("industries", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("committed", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('interest_subsidy', 'risk_compensation')",
            name=op.f("ck_subsidy_programs_kind"),
        ),
        sa.CheckConstraint("annual_budget >= 0", name=op.f("ck_subsidy_programs_annual_budget")),
        sa.CheckConstraint(
            "cap_per_enterprise_year IS NULL OR cap_per_enterprise_year >= 0",
            name=op.f("ck_subsidy_programs_cap_per_enterprise_year"),
        ),
        sa.CheckConstraint(
            "cap_per_loan IS NULL OR cap_per_loan >= 0",
            name=op.f("ck_subsidy_programs_cap_per_loan"),
        ),
        sa.CheckConstraint(
            "committed >= 0 AND committed <= annual_budget",
            name=op.f("ck_subsidy_programs_within_budget"),
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from",
            name=op.f("ck_subsidy_programs_effective_period"),
        ),
        sa.CheckConstraint("share > 0 AND share <= 1", name=op.f("ck_subsidy_programs_share")),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_subsidy_programs_district_code_districts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_programs")),
    )
    op.create_index(
        "ix_subsidy_programs_district_code_kind",
        "subsidy_programs",
        ["district_code", "kind"],
        unique=False,
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_working", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("holiday_name", sa.Text(), nullable=True),
        sa.Column("holiday_name_zh", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "is_working = (kind IN ('workday', 'makeup_workday'))",
            name=op.f("ck_calendar_days_working_matches_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('workday', 'weekend', 'holiday', 'makeup_workday')",
            name=op.f("ck_calendar_days_kind"),
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "calendar_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_calendar_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_state")),
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    op.create_table(
        "lpr_fixings",
        sa.Column("fixing_date", sa.Date(), nullable=False),
        sa.Column("one_year_bp", sa.Integer(), nullable=False),
        sa.Column("five_year_bp", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "five_year_bp > 0 AND five_year_bp < 10000", name=op.f("ck_lpr_fixings_five_year_bp")
        ),
        sa.CheckConstraint(
            "one_year_bp > 0 AND one_year_bp < 10000", name=op.f("ck_lpr_fixings_one_year_bp")
        ),
        sa.PrimaryKeyConstraint("fixing_date", name=op.f("pk_lpr_fixings")),
    )
    op.create_table(
        "enterprises",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("credit_code", sa.Text(), nullable=False),
        sa.Column("district_code", sa.Text(), nullable=False),
        sa.Column("industry", sa.Text(), nullable=False),
        sa.Column("high_tech", sa.Boolean(), nullable=False),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "industry IN ('artificial_intelligence', 'low_altitude_economy', 'intelligent_driving', 'electronic_information', 'biomedicine', 'low_carbon', 'other')",
            name=op.f("ck_enterprises_industry"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_enterprises_district_code_districts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_enterprises_credit_code")),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("enterprise_id", sa.UUID(), nullable=False),
        sa.Column("relationship_manager_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("term_months", sa.SmallInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("district_code", sa.Text(), nullable=False),
        sa.Column("industry", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tier_working_days", sa.SmallInteger(), nullable=True),
        sa.Column("deadline_date", sa.Date(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("approved_amount", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("rate_bp", sa.Integer(), nullable=True),
        sa.Column("quote_id", sa.UUID(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('approved', 'declined')",
            name=op.f("ck_applications_outcome"),
        ),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'under_review', 'awaiting_information', 'approved', 'declined', 'withdrawn', 'disbursed')",
            name=op.f("ck_applications_state"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_applications_amount_positive")),
        sa.CheckConstraint(
            "approved_amount IS NULL OR (approved_amount > 0 AND approved_amount <= amount)",
            name=op.f("ck_applications_approved_amount"),
        ),
        sa.CheckConstraint(
            "term_months BETWEEN 1 AND 60", name=op.f("ck_applications_term_months")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_applications_district_code_districts"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_applications_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("reference", name=op.f("uq_applications_reference")),
    )
    op.create_index(
        "ix_applications_district_code_id", "applications", ["district_code", "id"], unique=False
    )
    op.create_index(
        "ix_applications_enterprise_id", "applications", ["enterprise_id"], unique=False
    )
    op.create_index("ix_applications_industry_id", "applications", ["industry", "id"], unique=False)
    op.create_index(
        "ix_applications_open_clock",
        "applications",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('submitted', 'under_review')"),
    )
    op.create_index("ix_applications_received_at", "applications", ["received_at"], unique=False)
    op.create_index(
        "ix_applications_relationship_manager_id_id",
        "applications",
        ["relationship_manager_id", "id"],
        unique=False,
    )
    op.create_index("ix_applications_state_id", "applications", ["state", "id"], unique=False)
    op.create_table(
        "ip_assets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("holder_enterprise_id", sa.UUID(), nullable=False),
        sa.Column("licensor_name", sa.Text(), nullable=True),
        sa.Column("nice_class", sa.SmallInteger(), nullable=True),
        sa.Column("protection_expires_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'trademark') = (nice_class IS NOT NULL)",
            name=op.f("ck_ip_assets_nice_class_for_trademarks"),
        ),
        sa.CheckConstraint(
            "kind IN ('invention_patent', 'utility_model', 'design_patent', 'trademark', 'software_copyright')",
            name=op.f("ck_ip_assets_kind"),
        ),
        sa.CheckConstraint(
            "nice_class IS NULL OR nice_class BETWEEN 1 AND 45",
            name=op.f("ck_ip_assets_nice_class"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_ip_assets_holder_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_assets")),
        sa.UniqueConstraint("kind", "number", name="uq_ip_assets_kind_number"),
    )
    op.create_index(
        "ix_ip_assets_holder_enterprise_id", "ip_assets", ["holder_enterprise_id"], unique=False
    )
    op.create_table(
        "application_assets",
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("ip_asset_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_assets_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["ip_asset_id"],
            ["ip_assets.id"],
            name=op.f("fk_application_assets_ip_asset_id_ip_assets"),
        ),
        sa.PrimaryKeyConstraint(
            "application_id", "ip_asset_id", name=op.f("pk_application_assets")
        ),
    )
    op.create_index(
        "ix_application_assets_ip_asset_id", "application_assets", ["ip_asset_id"], unique=False
    )
    op.create_table(
        "application_quotes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("quote_date", sa.Date(), nullable=False),
        sa.Column("lpr_date", sa.Date(), nullable=False),
        sa.Column("lpr_bp", sa.Integer(), nullable=False),
        sa.Column("spread_bp", sa.Integer(), nullable=False),
        sa.Column("discount_uncapped_bp", sa.Integer(), nullable=False),
        sa.Column("discount_bp", sa.Integer(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("term_months", sa.SmallInteger(), nullable=False),
        sa.Column("components", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "discount_bp BETWEEN 0 AND 20", name=op.f("ck_application_quotes_discount_cap")
        ),
        sa.CheckConstraint(
            "discount_uncapped_bp >= discount_bp",
            name=op.f("ck_application_quotes_discount_uncapped"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_quotes_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_quotes")),
    )
    op.create_index(
        "ix_application_quotes_application_id_id",
        "application_quotes",
        ["application_id", "id"],
        unique=False,
    )
    op.create_table(
        "approval_clocks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("tier_working_days", sa.SmallInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_date", sa.Date(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("at_risk_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stop_reason IS NULL OR stop_reason IN ('returned', 'decided', 'withdrawn')",
            name=op.f("ck_approval_clocks_stop_reason"),
        ),
        sa.CheckConstraint(
            "(deadline_date IS NULL) = (deadline_at IS NULL)",
            name=op.f("ck_approval_clocks_deadline"),
        ),
        sa.CheckConstraint(
            "(stopped_at IS NULL) = (stop_reason IS NULL)", name=op.f("ck_approval_clocks_stopped")
        ),
        sa.CheckConstraint("tier_working_days IN (3, 5, 10)", name=op.f("ck_approval_clocks_tier")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_approval_clocks_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_clocks")),
    )
    op.create_index(
        "ix_approval_clocks_pending_calendar",
        "approval_clocks",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("deadline_date IS NULL"),
    )
    op.create_index(
        "ix_approval_clocks_sweep",
        "approval_clocks",
        ["deadline_date"],
        unique=False,
        postgresql_where=sa.text("stopped_at IS NULL AND breached_notified_at IS NULL"),
    )
    op.create_index(
        "uq_approval_clocks_application_id_seq",
        "approval_clocks",
        ["application_id", "seq"],
        unique=True,
    )
    op.create_table(
        "ip_asset_valuations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("ip_asset_id", sa.UUID(), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("appraiser", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("valuation_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("value > 0", name=op.f("ck_ip_asset_valuations_value_positive")),
        sa.ForeignKeyConstraint(
            ["ip_asset_id"],
            ["ip_assets.id"],
            name=op.f("fk_ip_asset_valuations_ip_asset_id_ip_assets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_asset_valuations")),
    )
    op.create_index(
        "ix_ip_asset_valuations_current",
        "ip_asset_valuations",
        ["ip_asset_id", "valuation_date", "id"],
        unique=False,
    )
    op.create_table(
        "pledges",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("ip_asset_id", sa.UUID(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("registration_no", sa.Text(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("enforced_on", sa.Date(), nullable=True),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('proposed', 'registered', 'released', 'enforced', 'cancelled')",
            name=op.f("ck_pledges_state"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('registered', 'released', 'enforced') OR (registration_no IS NOT NULL AND registered_on IS NOT NULL) OR state = 'released'",
            name=op.f("ck_pledges_registration"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_pledges_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["ip_asset_id"], ["ip_assets.id"], name=op.f("fk_pledges_ip_asset_id_ip_assets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledges")),
    )
    op.create_index("ix_pledges_application_id", "pledges", ["application_id"], unique=False)
    op.create_index("ix_pledges_ip_asset_id_id", "pledges", ["ip_asset_id", "id"], unique=False)
    op.create_index("ix_pledges_state_id", "pledges", ["state", "id"], unique=False)
    op.create_foreign_key(
        op.f("fk_applications_quote_id_application_quotes"),
        "applications",
        "application_quotes",
        ["quote_id"],
        ["id"],
    )
    op.execute("INSERT INTO calendar_state (id, revision) VALUES (1, 0)")
    # Application references (ZCR-<year>-<number>): a sequence never blocks concurrent intake.
    op.execute("CREATE SEQUENCE application_reference_seq")
    # UUIDv7 for rows the database creates itself (events written by set-based jobs).
    op.execute(UUID7_FUNCTION)
    op.create_index(
        "uq_pledges_live_asset",
        "pledges",
        ["ip_asset_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('proposed', 'registered')"),
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION uuid7()")
    op.execute("DROP SEQUENCE application_reference_seq")
    op.drop_index("ix_subsidy_programs_district_code_kind", table_name="subsidy_programs")
    op.drop_table("subsidy_programs")
    op.drop_constraint(
        op.f("fk_applications_quote_id_application_quotes"), "applications", type_="foreignkey"
    )
    op.drop_index(
        "uq_pledges_live_asset",
        table_name="pledges",
        postgresql_where=sa.text("state IN ('proposed', 'registered')"),
    )
    op.drop_index("ix_pledges_state_id", table_name="pledges")
    op.drop_index("ix_pledges_ip_asset_id_id", table_name="pledges")
    op.drop_index("ix_pledges_application_id", table_name="pledges")
    op.drop_table("pledges")
    op.drop_index("ix_ip_asset_valuations_current", table_name="ip_asset_valuations")
    op.drop_table("ip_asset_valuations")
    op.drop_index("uq_approval_clocks_application_id_seq", table_name="approval_clocks")
    op.drop_index(
        "ix_approval_clocks_sweep",
        table_name="approval_clocks",
        postgresql_where=sa.text("stopped_at IS NULL AND breached_notified_at IS NULL"),
    )
    op.drop_index(
        "ix_approval_clocks_pending_calendar",
        table_name="approval_clocks",
        postgresql_where=sa.text("deadline_date IS NULL"),
    )
    op.drop_table("approval_clocks")
    op.drop_index("ix_application_quotes_application_id_id", table_name="application_quotes")
    op.drop_table("application_quotes")
    op.drop_index("ix_application_assets_ip_asset_id", table_name="application_assets")
    op.drop_table("application_assets")
    op.drop_index("ix_ip_assets_holder_enterprise_id", table_name="ip_assets")
    op.drop_table("ip_assets")
    op.drop_index("ix_applications_state_id", table_name="applications")
    op.drop_index("ix_applications_relationship_manager_id_id", table_name="applications")
    op.drop_index("ix_applications_received_at", table_name="applications")
    op.drop_index(
        "ix_applications_open_clock",
        table_name="applications",
        postgresql_where=sa.text("state IN ('submitted', 'under_review')"),
    )
    op.drop_index("ix_applications_industry_id", table_name="applications")
    op.drop_index("ix_applications_enterprise_id", table_name="applications")
    op.drop_index("ix_applications_district_code_id", table_name="applications")
    op.drop_table("applications")
    op.drop_table("enterprises")
    op.drop_table("lpr_fixings")
    op.drop_table("calendar_years")
    op.drop_table("calendar_state")
    op.drop_table("calendar_days")
