"""SQL for loans, their instalments and their repayments.

Reads fold the schedule into the loan's row as one JSON text (``SCHEDULE``). Writes are single
conditional statements that take effect only if the loan is still at the version the service
read; audit entries and events are written by ``app.core.journal``.
"""

from app.loans.repository.loans import (
    LOAN_COLUMNS,
    SCHEDULE,
    application_for_disbursement,
    get,
    get_for_posting,
    insert_loan,
    lock_for_review,
    mark_defaulted,
    mark_securitized,
    page,
    read_many,
    repayments_until,
    set_classifications,
)
from app.loans.repository.repayments import Instalment, record_repayment

__all__ = [
    "LOAN_COLUMNS",
    "SCHEDULE",
    "Instalment",
    "application_for_disbursement",
    "get",
    "get_for_posting",
    "insert_loan",
    "lock_for_review",
    "mark_defaulted",
    "mark_securitized",
    "page",
    "read_many",
    "record_repayment",
    "repayments_until",
    "set_classifications",
]
