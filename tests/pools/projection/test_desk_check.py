"""A structured-finance desk's own check of the pool projections (SPEC 3.9a).

The model here is written from the contract's words alone, in exact decimals, one month at a
time, with the pool's loans' own schedules as the API shows them: nothing of the service's
engine is used. The service's answer is then compared, row by row and fen by fen, allowing only
the rounding docs/projections.md documents:

- the pool's ending balance is its exact value half-up to the fen;
- the month's fall in balance is split among defaults, scheduled principal and prepayments so
  that each lies within a fen of its exact value and the three add up to the fall;
- interest collected is the difference of the exact running total rounded half-up;
- recoveries, fees and coupons are half-up from the fen amounts they rest on.

The waterfall (fees, coupons senior first, principal sequential, losses bottom-up, shortfalls
carried) is replayed in integer fen on the service's own pool rows, so every tranche figure must
match exactly; the totals, WAL and payment dates are recomputed from those rows.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from uuid import UUID

import pytest

from tests import factories
from tests.factories import at
from tests.pools.conftest import NO_LIMITS, TODAY

D = Decimal
FEN = D("0.01")
CUT_OFF = date(2025, 1, 31)


def fen(x: Decimal) -> Decimal:
    return x.quantize(FEN, rounding=ROUND_HALF_UP)


def fen_exact(x: Decimal) -> Decimal:
    """An exact model value half-up to the fen. The model's 50 digits carry a last-digit error
    from the twelfth roots: (1 − 0.5^(1/12))^12 comes out 0.49999…97, not 0.5. A value that
    close to a half fen is the half fen, so it is first taken to 1e-20."""
    return fen(x.quantize(D("1e-20"), rounding=ROUND_HALF_UP))


# --- the desk's model ------------------------------------------------------------------------


def month_end(cut_off: date, t: int) -> date:
    """The cut-off's day ``t`` months on, the month's last day where it has none; after a
    cut-off on a month's last day, the last day of each month (a desk's monthly periods run
    month end to month end: a 28 February cut-off's first month ends on 31 March)."""
    y, m = divmod(cut_off.month - 1 + t, 12)
    year, month = cut_off.year + y, m + 1
    last = calendar.monthrange(year, month)[1]
    if cut_off.day == calendar.monthrange(cut_off.year, cut_off.month)[1]:
        return date(year, month, last)
    return date(year, month, min(cut_off.day, last))


def aggregate(cut_off: date, schedules: list[list[dict]]) -> tuple[list[D], list[D]]:
    """The pool's scheduled principal and interest per month after the cut-off: an instalment
    belongs to the month (end(t-1), end(t)] its due date falls in."""
    principal: dict[int, D] = defaultdict(D)
    interest: dict[int, D] = defaultdict(D)
    for schedule in schedules:
        for inst in schedule:
            due = date.fromisoformat(inst["due_date"])
            if due <= cut_off:
                continue
            t = 1
            while month_end(cut_off, t) < due:
                t += 1
            principal[t] += D(inst["principal"])
            interest[t] += D(inst["interest"])
    n = max(principal)
    return [principal[t] for t in range(1, n + 1)], [interest[t] for t in range(1, n + 1)]


@dataclasses.dataclass
class ExactMonth:
    beginning: D
    defaults: D
    scheduled: D
    interest: D
    prepayments: D
    ending: D


def exact_pool(principal: list[D], interest: list[D], cpr: D, cdr: D) -> list[ExactMonth]:
    """SPEC 3.9a per month, exactly (50 digits): defaults = MDR × beginning; the loans' own
    scheduled principal and interest × the share of balance that survived so far (this month's
    defaults included); prepayments = SMM × what remains."""
    with localcontext() as ctx:
        ctx.prec = 50
        one = D(1)
        smm = one - (one - cpr) ** (one / 12) if cpr < 1 else one
        mdr = one - (one - cdr) ** (one / 12) if cdr < 1 else one
        balance = sum(principal, D(0))  # performing balance, exact
        survived = one  # share of each loan's scheduled balance still performing
        months = []
        for p, i in zip(principal, interest, strict=True):
            defaults = mdr * balance
            survived *= one - mdr
            scheduled = p * survived
            paid_interest = i * survived
            remains = balance - defaults - scheduled
            prepayments = smm * remains
            survived *= one - smm
            ending = remains - prepayments
            months.append(
                ExactMonth(balance, defaults, scheduled, paid_interest, prepayments, ending)
            )
            balance = ending
    return months


def coupon(balance: D, bp: int) -> D:
    return fen(balance * bp / 120_000)


@dataclasses.dataclass
class TrancheState:
    name: str
    balance: D
    coupon_bp: int
    shortfall: D = dataclasses.field(default_factory=D)


def waterfall(rows: list[dict], tranches: list[dict], fees_bp: int, rr: D) -> list[list[dict]]:
    """The SPEC's waterfall in fen over given pool rows: interest collected pays fees (on the
    pool's beginning balance) then each coupon senior first, unpaid amounts carried; principal
    collected (scheduled, prepaid, recovered) pays the tranches in order; the month's loss,
    defaults less their recoveries, writes them down most junior first."""
    states = [TrancheState(t["name"], D(t["original_balance"]), t["coupon_bp"]) for t in tranches]
    fee_shortfall = D(0)
    out = []
    for row in rows:
        cash = D(row["interest_collected"])
        fee_due = fen(D(row["beginning_balance"]) * fees_bp / 120_000) + fee_shortfall
        fees = min(cash, fee_due)
        fee_shortfall = fee_due - fees
        cash -= fees
        month = {"fees": fees, "tranches": []}
        for s in states:
            due = coupon(s.balance, s.coupon_bp) + s.shortfall
            paid = min(cash, due)
            cash -= paid
            s.shortfall = due - paid
            month["tranches"].append({"interest_paid": paid})
        month["released"] = cash
        principal = D(row["scheduled_principal"]) + D(row["prepayments"]) + D(row["recoveries"])
        for s, t in zip(states, month["tranches"], strict=True):
            paid = min(principal, s.balance)
            principal -= paid
            s.balance -= paid
            t["principal_paid"] = paid
        assert principal == 0, "principal left over after every tranche is paid"
        defaults = D(row["defaults"])
        loss = defaults - fen(defaults * rr)
        for s, t in reversed(list(zip(states, month["tranches"], strict=True))):
            cut = min(loss, s.balance)
            loss -= cut
            s.balance -= cut
            t["writedown"] = cut
        for s, t in zip(states, month["tranches"], strict=True):
            t["ending_balance"] = s.balance
            t["shortfall"] = s.shortfall
            t["name"] = s.name
        out.append(month)
    return out


def money(x: D) -> str:
    return f"{x:.2f}"


# --- hand-worked case of the model ---------------------------------------------------------


def test_hand_worked_two_months():
    # Two months: scheduled principal 600.00 then 400.00, interest 10.00 then 5.00; CPR 12%,
    # CDR 12%, so SMM = MDR = 1 − 0.88^(1/12) = 0.010596241035…
    # Month 1: beginning 1,000.00; defaults 0.0105962 × 1000 = 10.596241; survived share
    #   1 − 0.0105962 = 0.98940376; scheduled 600 × 0.98940376 = 593.642255; interest
    #   10 × 0.98940376 = 9.894038; remains 1000 − 10.596241 − 593.642255 = 395.761504;
    #   prepayments 0.0105962 × 395.761504 = 4.193584; ending 391.567920.
    # Month 2: beginning 391.567920; defaults 0.0105962 × 391.567920 = 4.149148; survived
    #   0.98940376 × 0.98940376 × 0.98940376 = 0.968543 (two MDRs, one SMM); scheduled
    #   400 × 0.968543 = 387.418772; interest 5 × 0.968543 = 4.842735; remains 0, ending 0.
    m = exact_pool([D(600), D(400)], [D(10), D(5)], D("0.12"), D("0.12"))
    assert [fen(x.defaults) for x in m] == [D("10.60"), D("4.15")]
    assert [fen(x.scheduled) for x in m] == [D("593.64"), D("387.42")]
    assert [fen(x.interest) for x in m] == [D("9.89"), D("4.84")]
    assert [fen(x.prepayments) for x in m] == [D("4.19"), D("0.00")]
    assert fen(m[0].ending) == D("391.57") and abs(m[1].ending) < D("1e-40")
    # Waterfall on those fen rows, tranches A 900.00 at 1,200bp and B 100.00 at 2,400bp, fees
    # 1,200bp, recovery 50% with lag 0 (so recoveries = half the defaults, same month):
    # Month 1: interest 9.89: fees 1000 × 0.12 / 12 = 10.00 due, 9.89 paid, 0.11 short; A's coupon
    #   900 × 0.01 = 9.00 wholly short; B's 100 × 0.02 = 2.00 short. Principal 593.64 + 4.19 +
    #   5.30 = 603.13 to A (296.87 left); loss 10.60 − 5.30 = 5.30 off B (94.70 left).
    rows = [
        {
            "beginning_balance": "1000.00",
            "interest_collected": "9.89",
            "scheduled_principal": "593.64",
            "prepayments": "4.19",
            "defaults": "10.60",
            "recoveries": "5.30",
        },
    ]
    tranches = [
        {"name": "A", "original_balance": "900.00", "coupon_bp": 1200},
        {"name": "B", "original_balance": "100.00", "coupon_bp": 2400},
    ]
    (month,) = waterfall(rows, tranches, 1200, D("0.5"))
    assert month["fees"] == D("9.89") and month["released"] == 0
    a, b = month["tranches"]
    assert (a["interest_paid"], a["shortfall"]) == (0, D("9.00"))
    assert (b["interest_paid"], b["shortfall"]) == (0, D("2.00"))
    assert (a["principal_paid"], a["ending_balance"]) == (D("603.13"), D("296.87"))
    assert (b["writedown"], b["ending_balance"]) == (D("5.30"), D("94.70"))


# --- the service, driven through its API ---------------------------------------------------


async def make_loan(book, amount: str, *, method: str, term: int, spread: int, disbursed: str):
    """A loan of ``amount`` repaid by ``method`` over ``term`` months at LPR + ``spread``."""

    enterprise = await book.enterprise()
    desk = dataclasses.replace(book.desk, enterprise_id=enterprise)
    book.clock.set(at("2025-01-06T10:00:00+08:00"))
    await factories.lpr(book.conn, date(2024, 12, 20), one_year_bp=310)
    asset = await factories.ip_asset(
        book.conn, enterprise, value=D("20000000.00"), valued_on=date(2024, 12, 2)
    )
    app = await desk.create(assets=[asset], amount=amount, term_months=term)
    app = await desk.submit(app)
    await desk.act(app, "review")
    app = await desk.act(app, "decision", outcome="approved", spread_bp=spread)
    for pledge in app["pledges"]:
        response = await desk.client.post(
            f"/v1/pledges/{pledge['id']}/registration",
            json={"registration_no": f"Y2025{pledge['id'][-8:]}", "registered_on": "2025-01-06"},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text
    book.clock.set(at(f"{disbursed}T15:00:00+08:00"))
    response = await desk.client.post(
        f"/v1/applications/{app['id']}/disbursement",
        json={"disbursed_on": disbursed, "repayment_method": method},
        headers=desk.officer,
    )
    assert response.status_code == 201, response.text
    book.clock.set(at(TODAY))
    return response.json()


@pytest.fixture
async def mixed(book):
    """Four loans of different methods, rates, terms and due days, locked at 31 January 2025."""
    loans = [
        await make_loan(
            book,
            "6000000.00",
            method="equal_installment",
            term=12,
            spread=100,
            disbursed="2025-01-10",
        ),
        await make_loan(
            book,
            "3000000.00",
            method="equal_principal",
            term=24,
            spread=250,
            disbursed="2025-01-20",
        ),
        await make_loan(
            book,
            "2000000.00",
            method="interest_only_bullet",
            term=6,
            spread=50,
            disbursed="2025-01-31",
        ),
        await make_loan(
            book,
            "1500000.00",
            method="equal_installment",
            term=36,
            spread=180,
            disbursed="2025-01-15",
        ),
    ]
    assert len({loan["rate_bp"] for loan in loans}) > 1
    pool = await book.pool("12500000.00", limits=NO_LIMITS)
    for loan in loans:
        await book.add(pool, loan)
    pool = await book.post(pool, "lock")
    return pool, loans


TWO = {
    "tranches": [
        {"name": "A", "share": "0.85", "coupon_bp": 320},
        {"name": "B", "share": "0.15", "coupon_bp": 650},
    ],
    "fees_bp": 0,
}
THREE = {
    "tranches": [
        {"name": "Senior", "share": "0.7333", "coupon_bp": 300},
        {"name": "Mezz", "share": "0.1667", "coupon_bp": 550},
        {"name": "Equity", "share": "0.1", "coupon_bp": 900},
    ],
    "fees_bp": 45,
}


def scenario(cpr="0", cdr="0", rr="0.4", lag=0) -> dict:
    return {"cpr": cpr, "cdr": cdr, "recovery_rate": rr, "recovery_lag_months": lag}


async def project(book, pool, sc, structure, **extra) -> dict:
    response = await book.desk.client.post(
        f"/v1/pools/{pool['id']}/projections",
        json={"scenario": sc, "structure": structure, **extra},
        headers=book.desk_key,
    )
    assert response.status_code == 201, response.text
    return response.json()


def original_balances(total: D, structure: dict) -> list[D]:
    shares = [fen(total * D(t["share"])) for t in structure["tranches"]]
    shares[-1] = total - sum(shares[:-1])
    return shares


def check_pool_rows(out: dict, loans: list[dict], sc: dict) -> None:
    """Every pool figure of every month against the exact model, within the documented
    rounding."""
    cut_off = date.fromisoformat(out["cut_off_date"])
    principal, interest = aggregate(cut_off, [loan["schedule"] for loan in loans])
    exact = exact_pool(principal, interest, D(sc["cpr"]), D(sc["cdr"]))
    n, lag, rr = len(principal), sc["recovery_lag_months"], D(sc["recovery_rate"])
    rows = out["rows"]
    assert D(out["cut_off_balance"]) == sum(principal)
    assert len(rows) == (n + lag if D(sc["cdr"]) > 0 and rr > 0 else n)
    previous_end, cum_exact, cum_paid = sum(principal), D(0), D(0)
    for t, row in enumerate(rows, start=1):
        assert row["period"] == t and row["date"] == month_end(cut_off, t).isoformat()
        assert D(row["beginning_balance"]) == previous_end, t
        if t <= n:
            m = exact[t - 1]
            assert D(row["ending_balance"]) == fen_exact(m.ending), t
            for key, value in (
                ("defaults", m.defaults),
                ("scheduled_principal", m.scheduled),
                ("prepayments", m.prepayments),
            ):
                assert abs(D(row[key]) - value) <= FEN, (t, key, row[key], value)
                if value == 0:
                    assert D(row[key]) == 0, (t, key)
            cum_exact += m.interest
        fall = D(row["defaults"]) + D(row["scheduled_principal"]) + D(row["prepayments"])
        assert fall == D(row["beginning_balance"]) - D(row["ending_balance"]), t
        cum_paid += D(row["interest_collected"])
        assert cum_paid == fen_exact(cum_exact), (t, cum_paid, cum_exact)
        # Recoveries: the defaults of lag months before × the recovery rate.
        expected = fen(D(rows[t - 1 - lag]["defaults"]) * rr) if t > lag else D(0)
        assert D(row["recoveries"]) == expected, t
        previous_end = D(row["ending_balance"])
    assert previous_end == 0


def check_waterfall(out: dict, sc: dict, structure: dict) -> None:
    """Every tranche figure of every month, and the totals, against the desk's waterfall."""
    cut_off = date.fromisoformat(out["cut_off_date"])
    originals = original_balances(D(out["cut_off_balance"]), structure)
    spec = [
        {"name": t["name"], "original_balance": money(o), "coupon_bp": t["coupon_bp"]}
        for t, o in zip(structure["tranches"], originals, strict=True)
    ]
    mine = waterfall(out["rows"], spec, structure["fees_bp"], D(sc["recovery_rate"]))
    lag = sc["recovery_lag_months"]
    for t, (row, month) in enumerate(zip(out["rows"], mine, strict=True), start=1):
        assert D(row["fees"]) == month["fees"], t
        assert D(row["released"]) == month["released"], t
        for theirs, ours in zip(row["tranches"], month["tranches"], strict=True):
            assert theirs["name"] == ours["name"]
            for key in (
                "interest_paid",
                "principal_paid",
                "writedown",
                "ending_balance",
                "shortfall",
            ):
                assert theirs[key] == money(ours[key]), (t, ours["name"], key)
        # The tranches add up to the performing balance plus the recoveries still to come.
        pending = (
            sum(
                (
                    fen(D(r["defaults"]) * D(sc["recovery_rate"]))
                    for r in out["rows"][max(0, t - lag) : t]
                ),
                D(0),
            )
            if lag
            else D(0)
        )
        tranche_total = sum(D(x["ending_balance"]) for x in row["tranches"])
        assert tranche_total == D(row["ending_balance"]) + pending, t
    for i, (total, original) in enumerate(zip(out["tranches"], originals, strict=True)):
        paid = [(t, m["tranches"][i]) for t, m in enumerate(mine, start=1)]
        principal = sum((x["principal_paid"] for _, x in paid), D(0))
        assert total["original_balance"] == money(original)
        assert total["principal_paid"] == money(principal)
        assert total["interest_paid"] == money(sum((x["interest_paid"] for _, x in paid), D(0)))
        assert total["loss"] == money(sum((x["writedown"] for _, x in paid), D(0)))
        assert D(total["principal_paid"]) + D(total["loss"]) == original
        paying = [t for t, x in paid if x["principal_paid"] > 0]
        if principal:
            wal = sum((D(t) / 12 * x["principal_paid"] for t, x in paid), D(0)) / principal
            assert D(total["wal_years"]) == wal.quantize(D("0.0001"), ROUND_HALF_UP)
            assert total["first_payment_date"] == month_end(cut_off, paying[0]).isoformat()
            assert total["last_payment_date"] == month_end(cut_off, paying[-1]).isoformat()
        else:
            assert total["wal_years"] is None and total["first_payment_date"] is None


SCENARIOS = {
    "zero stress": (scenario(rr="0.5", lag=3), TWO),
    "CPR only": (scenario(cpr="0.15"), TWO),
    "CDR only, lag 0": (scenario(cdr="0.1", rr="0.4", lag=0), TWO),
    "CDR only, lag 6": (scenario(cdr="0.1", rr="0.4", lag=6), TWO),
    "high CDR": (scenario(cpr="0.05", cdr="0.6", rr="0.2", lag=3), TWO),
    "three tranches, fees": (scenario(cpr="0.1", cdr="0.2", rr="0.35", lag=2), THREE),
}


async def test_desk_model_agrees_on_every_figure(book, mixed):
    pool, loans = mixed
    for label, (sc, structure) in SCENARIOS.items():
        out = await project(book, pool, sc, structure)
        try:
            check_pool_rows(out, loans, sc)
            check_waterfall(out, sc, structure)
        except AssertionError as e:
            raise AssertionError(f"{label}: {e}") from e
        if label == "zero stress":
            # Collections are the scheduled instalments after the cut-off, to the fen.
            principal, interest = aggregate(CUT_OFF, [loan["schedule"] for loan in loans])
            assert [D(r["scheduled_principal"]) for r in out["rows"]] == principal
            assert [D(r["interest_collected"]) for r in out["rows"]] == interest
        if label == "high CDR":
            senior, junior = out["tranches"]
            assert D(junior["loss"]) == D(junior["original_balance"])
            assert 0 < D(senior["loss"]) < D(senior["original_balance"])


EDGES = {
    "fees beyond the interest": (
        scenario(cpr="0.2", cdr="0.05", rr="0.5", lag=2),
        {
            "tranches": [
                {"name": "A", "share": "0.9", "coupon_bp": 0},
                {"name": "B", "share": "0.1", "coupon_bp": 400},
            ],
            "fees_bp": 800,
        },
    ),
    "every loan defaults at once": (scenario(cdr="1", rr="0.3", lag=5), THREE),
    "every loan prepays at once": (scenario(cpr="1", cdr="0.3", rr="0.3", lag=1), TWO),
    "nothing recovered": (scenario(cpr="0.05", cdr="0.4", rr="0", lag=4), THREE),
    "everything recovered": (scenario(cdr="0.5", rr="1", lag=12), TWO),
    "one tranche": (
        scenario(cpr="0.07", cdr="0.09", rr="0.45", lag=3),
        {"tranches": [{"name": "Whole", "share": "1", "coupon_bp": 350}], "fees_bp": 10},
    ),
}


async def test_desk_model_agrees_at_the_edges(book, mixed):
    pool, loans = mixed
    for label, (sc, structure) in EDGES.items():
        out = await project(book, pool, sc, structure)
        try:
            check_pool_rows(out, loans, sc)
            check_waterfall(out, sc, structure)
        except AssertionError as e:
            raise AssertionError(f"{label}: {e}") from e
        if label == "fees beyond the interest":
            assert all(D(r["released"]) == 0 for r in out["rows"])
            assert D(out["tranches"][1]["interest_paid"]) == 0
        if label == "every loan defaults at once":
            first = out["rows"][0]
            assert first["defaults"] == first["beginning_balance"]
            assert first["ending_balance"] == "0.00"
        if label == "everything recovered":
            assert all(t["loss"] == "0.00" for t in out["tranches"])


async def test_breakeven_is_where_the_senior_first_loses(book, mixed):
    pool, loans = mixed
    sc = scenario(cpr="0.08", cdr="0.01", rr="0.3", lag=4)
    out = await project(book, pool, sc, TWO, breakeven=True)
    found = D(out["breakeven_cdr"])
    at_it = await project(book, pool, {**sc, "cdr": str(found)}, TWO)
    below = await project(book, pool, {**sc, "cdr": str(found - D("0.0001"))}, TWO)
    for o, s in (
        (at_it, {**sc, "cdr": str(found)}),
        (below, {**sc, "cdr": str(found - D("0.0001"))}),
    ):
        check_pool_rows(o, loans, s)
        check_waterfall(o, s, TWO)
    assert D(at_it["tranches"][0]["loss"]) >= FEN
    assert D(below["tranches"][0]["loss"]) == 0


async def test_a_locked_pool_projects_the_same_after_a_prepayment(book, mixed):
    """A locked pool's facts are frozen (SPEC 3.9): a prepayment posted on a member after the
    lock re-amortises the loan's own schedule, but not the pool's projection."""
    pool, loans = mixed
    sc = scenario(cpr="0.1", cdr="0.05", rr="0.4", lag=2)
    before = await project(book, pool, sc, TWO)
    # 2 February: the first instalment (due 10 February) and 1,000,000.00 more of principal.
    first = loans[0]["schedule"][0]
    amount = D(first["principal"]) + D(first["interest"]) + D("1000000.00")
    response = await book.desk.client.post(
        f"/v1/loans/{loans[0]['id']}/repayments",
        json={"paid_on": "2025-02-02", "amount": str(amount)},
        headers=book.desk.officer,
    )
    assert response.status_code == 201, response.text
    assert D(response.json()["prepaid_principal"]) > 0
    after = await project(book, pool, sc, TWO)
    assert after["rows"] == before["rows"] and after["tranches"] == before["tranches"]
    check_pool_rows(after, loans, sc)  # the schedules as disbursed, not as re-amortised


async def test_a_replay_is_the_representation_asked_for(book, mixed, conn):
    """An Idempotency-Key's replay never answers another format than the one asked: the same
    key with the same Accept replays the first answer byte for byte; with another Accept it is
    another request (422 idempotency-key-reused), and nothing is projected twice."""
    pool, _ = mixed
    url = f"/v1/pools/{pool['id']}/projections"
    payload = {"scenario": scenario(cdr="0.05", lag=1), "structure": TWO}
    csv_asked = {**book.desk_key, "Accept": "text/csv", "Idempotency-Key": "desk-check-1"}
    first = await book.desk.client.post(url, json=payload, headers=csv_asked)
    assert first.status_code == 201 and first.headers["content-type"].startswith("text/csv")
    again = await book.desk.client.post(url, json=payload, headers=csv_asked)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    json_asked = {**csv_asked, "Accept": "application/json"}
    other = await book.desk.client.post(url, json=payload, headers=json_asked)
    assert other.status_code == 422
    assert other.json()["type"].endswith("/problems/idempotency-key-reused")
    # The CSV is the stored projection's rows, as GET on its Location shows them.
    stored = await book.desk.client.get(
        first.headers["location"], headers={**book.desk_key, "Accept": "text/csv"}
    )
    assert stored.content == first.content
    # JSON first: a replay asking JSON, or anything (*/*), is that JSON.
    json_first = {**book.desk_key, "Accept": "application/json", "Idempotency-Key": "desk-check-2"}
    made = await book.desk.client.post(url, json=payload, headers=json_first)
    assert made.status_code == 201 and made.json()["rows"]
    for accept in ("application/json", "*/*"):
        replay = await book.desk.client.post(
            url, json=payload, headers={**json_first, "Accept": accept}
        )
        assert replay.status_code == 201 and replay.content == made.content
    count = await conn.fetchval(
        "SELECT count(*) FROM pool_projections WHERE pool_id = $1", UUID(pool["id"])
    )
    assert count == 2


async def test_a_month_end_cut_off_gives_month_end_periods(book):
    """A pool cut off on 28 February: its months end on 31 March, 30 April, …, so that an
    instalment due on the 31st of March is March's, as a desk reads a month-end cut-off."""
    loans = [
        await make_loan(
            book,
            "4000000.00",
            method="equal_installment",
            term=12,
            spread=100,
            disbursed="2025-01-31",
        ),
        await make_loan(
            book, "2000000.00", method="equal_principal", term=9, spread=200, disbursed="2025-01-10"
        ),
    ]
    book.clock.set(at("2025-03-03T10:00:00+08:00"))
    for loan, paid_on in zip(loans, ("2025-02-28", "2025-02-10"), strict=True):
        await book.repay(loan, paid_on=paid_on)
    pool = await book.pool("6000000.00", limits=NO_LIMITS, cut_off_date="2025-02-28")
    for loan in loans:
        await book.add(pool, loan)
    pool = await book.post(pool, "lock")
    sc = scenario(cpr="0.1", cdr="0.1", rr="0.5", lag=1)
    out = await project(book, pool, sc, TWO)
    assert [r["date"] for r in out["rows"][:3]] == ["2025-03-31", "2025-04-30", "2025-05-31"]
    # March: both loans' March instalments (10 and 31 March), nothing of April's.
    check_pool_rows(out, loans, sc)
    check_waterfall(out, sc, TWO)


async def test_the_migration_freezes_already_locked_pools_as_a_lock_does(book, mixed, conn):
    """Pools locked before schedules were frozen get theirs from the migration, computed as a
    lock computes it: the same rows for a pool locked now."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[3] / "migrations/versions/20261207_0012_pool_projections.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ctes, _ = module._FREEZE_LOCKED.split("INSERT INTO")
    pool, _ = mixed
    backfilled = await conn.fetch(
        ctes
        + """SELECT due_date, sum(principal) AS principal, sum(interest) AS interest
             FROM parts WHERE pool_id = $1 GROUP BY 1
             HAVING sum(principal) <> 0 OR sum(interest) <> 0 ORDER BY 1""",
        UUID(pool["id"]),
    )
    frozen = await conn.fetch(
        "SELECT due_date, principal, interest FROM pool_schedules WHERE pool_id = $1 ORDER BY 1",
        UUID(pool["id"]),
    )
    assert frozen and [tuple(r) for r in backfilled] == [tuple(r) for r in frozen]


@pytest.mark.parametrize("rate", ["0.1", "0.2", "0.36", "0.5"])
def test_half_fen_balances_round_up(rate):
    """With CPR = CDR = r, six months leave exactly (1 − r) of the scheduled balance and twelve
    (1 − r)²: balances that fall on a half fen there must round up, as half-up says, whatever
    a float's last bit. A balance of 1,000,000.05 after month 6 at r = 0.1 keeps
    900,000.045 → 900,000.05 (a float's 0.8999…9 gives 900,000.04)."""
    import numpy as np

    from app.pools.projection import engine
    from app.pools.projection.model import PoolSchedule, Scenario

    r = D(rate)
    mismatches = []
    for cents in range(100_000_005, 100_002_005, 10):  # × (1 − r) may fall on half fen
        principal = [0] * 5 + [17] + [0] * 6 + [cents]
        interest = [cents // 100] * 13
        schedule = PoolSchedule(
            balance=sum(principal),
            principal=np.array(principal, dtype=np.int64),
            interest=np.array(interest, dtype=np.int64),
        )
        flows = engine.collateral(schedule, Scenario(r, r, D("0.4"), 0))
        exact = exact_pool([D(p) for p in principal], [D(i) for i in interest], r, r)
        cumulative = D(0)
        for t, m in enumerate(exact):
            cumulative += m.interest
            if int(flows.ending[t]) != fen_exact(m.ending / 100) * 100:
                mismatches.append((cents, t + 1, "ending", int(flows.ending[t]), m.ending))
            if int(flows.interest[: t + 1].sum()) != fen_exact(cumulative / 100) * 100:
                mismatches.append((cents, t + 1, "interest"))
    assert mismatches == []


# --- the pure core against the desk's model, over random pools --------------------------------


def _rate(draw, top: int = 10_000) -> D:
    from hypothesis import strategies as st

    return D(draw(st.integers(0, top))) / 10_000


def _desk_cases():
    from hypothesis import strategies as st

    @st.composite
    def case(draw):
        months = draw(st.integers(1, 30))
        principal = [draw(st.integers(0, 50_000_000)) for _ in range(months)]
        principal[-1] += 1  # the balance is never zero
        interest = [draw(st.integers(0, 400_000)) for _ in range(months)]
        sc = scenario(
            cpr=str(_rate(draw)),
            cdr=str(_rate(draw)),
            rr=str(_rate(draw)),
            lag=draw(st.integers(0, 8)),
        )
        count = draw(st.integers(1, 3))
        cuts = sorted(
            draw(
                st.lists(st.integers(1, 9_999), min_size=count - 1, max_size=count - 1, unique=True)
            )
        )
        bounds = [0, *cuts, 10_000]
        tranches = [
            {
                "name": f"T{j}",
                "share": str(D(bounds[j + 1] - bounds[j]) / 10_000),
                "coupon_bp": draw(st.integers(0, 1_500)),
            }
            for j in range(count)
        ]
        structure = {"tranches": tranches, "fees_bp": draw(st.integers(0, 300))}
        return principal, interest, sc, structure

    return case()


def _engine_rows(projection) -> list[dict]:
    c = projection.collateral

    def m(x) -> str:
        return money(D(int(x)) / 100)

    return [
        {
            "beginning_balance": m(c.beginning[t]),
            "scheduled_principal": m(c.scheduled_principal[t]),
            "prepayments": m(c.prepayments[t]),
            "defaults": m(c.defaults[t]),
            "recoveries": m(c.recoveries[t]),
            "interest_collected": m(c.interest[t]),
            "ending_balance": m(c.ending[t]),
        }
        for t in range(c.months)
    ]


def test_the_core_agrees_with_the_desk_over_random_pools():
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_desk_cases())
    def check(case):
        import numpy as np

        from app.pools.projection import engine
        from app.pools.projection.model import PoolSchedule, Scenario, Structure, Tranche

        principal, interest, sc, structure = case
        schedule = PoolSchedule(
            balance=sum(principal),
            principal=np.array(principal, dtype=np.int64),
            interest=np.array(interest, dtype=np.int64),
        )
        projection = engine.project(
            schedule,
            Scenario(D(sc["cpr"]), D(sc["cdr"]), D(sc["recovery_rate"]), sc["recovery_lag_months"]),
            Structure(
                tuple(
                    Tranche(t["name"], D(t["share"]), t["coupon_bp"]) for t in structure["tranches"]
                ),
                structure["fees_bp"],
            ),
        )
        rows = _engine_rows(projection)
        exact = exact_pool(
            [D(p) / 100 for p in principal],
            [D(i) / 100 for i in interest],
            D(sc["cpr"]),
            D(sc["cdr"]),
        )
        cumulative, collected = D(0), D(0)
        for t, row in enumerate(rows):
            collected += D(row["interest_collected"])
            if t < len(exact):
                m = exact[t]
                assert D(row["ending_balance"]) == fen_exact(m.ending), t
                for key, value in (
                    ("defaults", m.defaults),
                    ("scheduled_principal", m.scheduled),
                    ("prepayments", m.prepayments),
                ):
                    assert abs(D(row[key]) - value) <= FEN, (t, key)
                    assert value != 0 or D(row[key]) == 0, (t, key)
                cumulative += m.interest
            assert collected == fen_exact(cumulative), t
        originals = original_balances(D(schedule.balance) / 100, structure)
        spec = [
            {"name": t["name"], "original_balance": money(o), "coupon_bp": t["coupon_bp"]}
            for t, o in zip(structure["tranches"], originals, strict=True)
        ]
        mine = waterfall(rows, spec, structure["fees_bp"], D(sc["recovery_rate"]))
        for t, month in enumerate(mine):
            assert D(projection.fees[t]) / 100 == month["fees"], t
            assert D(projection.released[t]) / 100 == month["released"], t
            for flows, ours in zip(projection.tranches, month["tranches"], strict=True):
                for key in (
                    "interest_paid",
                    "principal_paid",
                    "writedown",
                    "ending_balance",
                    "shortfall",
                ):
                    assert D(getattr(flows, key)[t]) / 100 == ours[key], (t, flows.name, key)

    check()
