"""Every table, one module each. Importing this package registers them all on ``Base``."""

from app.core.models import Base
from app.models.api_key import ApiKey
from app.models.application import Application, ApplicationAsset, ApprovalClock
from app.models.audit_event import AuditEvent
from app.models.calendar import CalendarDay, CalendarState, CalendarYear
from app.models.district import District
from app.models.enterprise import Enterprise
from app.models.idempotency_record import IdempotencyRecord
from app.models.ip_asset import IpAsset, IpAssetValuation
from app.models.loan import Loan, LoanInstallment, LoanRepayment
from app.models.outbox_event import OutboxEvent
from app.models.pledge import Pledge
from app.models.pool import Pool, PoolLoan
from app.models.pool_projection import PoolProjection
from app.models.pricing import ApplicationQuote, LprFixing
from app.models.schema_compatibility import SchemaCompatibility
from app.models.subsidy_claim import SubsidyClaim
from app.models.subsidy_program import SubsidyProgram
from app.models.webhook_attempt import WebhookAttempt
from app.models.webhook_delivery import WebhookDelivery
from app.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "ApiKey",
    "Application",
    "ApplicationAsset",
    "ApplicationQuote",
    "ApprovalClock",
    "AuditEvent",
    "Base",
    "CalendarDay",
    "CalendarState",
    "CalendarYear",
    "District",
    "Enterprise",
    "IdempotencyRecord",
    "IpAsset",
    "IpAssetValuation",
    "Loan",
    "LoanInstallment",
    "LoanRepayment",
    "LprFixing",
    "OutboxEvent",
    "Pledge",
    "Pool",
    "PoolLoan",
    "PoolProjection",
    "SchemaCompatibility",
    "SubsidyClaim",
    "SubsidyProgram",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]


def _dates_in_range() -> None:
    """Every date column holds only the dates a caller may send (1990-01-01 … 2100-12-31), so
    that no stored date can break a read: ``ck_<table>_<column>_in_range`` (migration 0009)."""
    from sqlalchemy import CheckConstraint, Date

    from app.core.types import DATE_MAX, DATE_MIN

    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Date):
                table.append_constraint(
                    CheckConstraint(
                        f"{column.name} BETWEEN DATE '{DATE_MIN.isoformat()}' "
                        f"AND DATE '{DATE_MAX.isoformat()}'",
                        name=f"{column.name}_in_range",
                    )
                )


_dates_in_range()
