"""Re-amortisation of the instalments after a prepayment (SPEC.md 3.6).

The instalments after the current one are scheduled again on the new outstanding principal;
each one's interest is the principal outstanding at its start × rate / 12, half-up to the fen,
and the last absorbs the rounding, so the schedule still sums exactly to the principal.

- ``reduce_installment`` keeps their number and lowers each: the disbursement's rules for the
  method applied to the new balance over the remaining instalments (equal_installment: a new
  level total; equal_principal: a new equal principal; bullet: interest only falls).
- ``shorten_term`` keeps the instalment and drops the last ones: equal_installment keeps the
  level total, equal_principal the level principal, until the balance is repaid. A bullet has
  no level instalment to keep (its principal is due at once, at the end), so its term stays
  and only its interest falls, as with ``reduce_installment``.
"""

from __future__ import annotations

from app.loans.ledger import Instalment, PrepaymentOption, Schedule
from app.loans.schedule import RepaymentMethod, amortise_fen, monthly_interest_fen

Rows = list[tuple[int, int]]


def reamortise(
    later: Schedule,
    *,
    balance: int,
    rate_bp: int,
    method: RepaymentMethod,
    option: PrepaymentOption,
) -> Schedule:
    """``later`` (unpaid instalments after the current one) scheduled again on ``balance``."""
    if not later:
        return ()
    if balance <= 0:
        return ()
    n = len(later)
    if option is PrepaymentOption.SHORTEN_TERM and n > 1:
        if method is RepaymentMethod.EQUAL_INSTALLMENT:
            rows = _keep_total(balance, rate_bp, later[0].principal + later[0].interest, n)
        elif method is RepaymentMethod.EQUAL_PRINCIPAL:
            rows = _keep_principal(balance, rate_bp, later[0].principal, n)
        else:
            rows = amortise_fen(method, balance, rate_bp, n)
    else:
        rows = amortise_fen(method, balance, rate_bp, n)
    return tuple(
        Instalment(inst.seq, inst.due_date, principal, interest)
        for inst, (principal, interest) in zip(later, rows, strict=False)
    )


def _keep_total(balance: int, rate_bp: int, total: int, most: int) -> Rows:
    """Instalments of ``total`` each until the balance is repaid; the last takes what remains
    with its interest. A smaller balance at the same total ends no later than before."""
    rows: Rows = []
    while len(rows) < most - 1:
        interest = monthly_interest_fen(balance, rate_bp)
        principal = total - interest
        if principal <= 0 or principal >= balance:
            break
        rows.append((principal, interest))
        balance -= principal
    rows.append((balance, monthly_interest_fen(balance, rate_bp)))
    return rows


def _keep_principal(balance: int, rate_bp: int, part: int, most: int) -> Rows:
    """``part`` of principal each until the balance is repaid; the last takes what remains."""
    rows: Rows = []
    while len(rows) < most - 1 and 0 < part < balance:
        rows.append((part, monthly_interest_fen(balance, rate_bp)))
        balance -= part
    rows.append((balance, monthly_interest_fen(balance, rate_bp)))
    return rows
