"""What the audit trail keeps of a repayment: enough for an examiner to recompute the loan from
the trail alone, a prepayment's re-amortisation included."""

from decimal import Decimal

from tests.factories import at
from tests.lifecycle import disbursed


async def _pay(desk, loan, paid_on, amount, **extra):
    response = await desk.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"paid_on": paid_on, "amount": amount, **extra},
        headers=desk.officer,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _posted_entry(desk, loan) -> dict:
    response = await desk.client.get(
        "/v1/audit-events",
        params={"entity_type": "loan", "entity_id": loan["id"]},
        headers=desk.admin,
    )
    assert response.status_code == 200, response.text
    return next(e for e in response.json()["items"] if e["action"] == "loan.repayment_posted")


def _terms(schedule: list[dict]) -> list[dict]:
    return [{k: i[k] for k in ("seq", "due_date", "principal", "interest")} for i in schedule]


class TestPrepaymentInTheTrail:
    async def test_shorten_term_names_the_option_and_the_new_maturity(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_principal", amount="1200000.00")
        one = loan["schedule"][0]
        clock.set(at("2026-04-01T10:00:00+08:00"))
        due = Decimal(one["interest"]) + Decimal(one["principal"])
        paid = await _pay(
            desk,
            loan,
            "2026-04-01",
            f"{due + Decimal('500000.00'):.2f}",
            prepayment_option="shorten_term",
        )
        entry = await _posted_entry(desk, loan)
        assert entry["after"]["prepayment_option"] == "shorten_term"
        assert entry["before"]["maturity_date"] == loan["maturity_date"]
        assert entry["before"]["installments"] == 12
        assert entry["after"]["maturity_date"] == paid["loan"]["maturity_date"]
        assert entry["after"]["installments"] == len(paid["loan"]["schedule"]) == 7
        # Every instalment the re-amortisation changed, as the loan now shows it.
        changed = [
            i
            for i, was in zip(
                _terms(paid["loan"]["schedule"]), _terms(loan["schedule"]), strict=False
            )
            if i != was
        ]
        assert entry["after"]["rescheduled"] == changed

    async def test_reduce_installment_gives_the_lowered_instalments(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_installment", amount="1200000.00")
        one = loan["schedule"][0]
        clock.set(at("2026-04-01T10:00:00+08:00"))
        due = Decimal(one["interest"]) + Decimal(one["principal"])
        paid = await _pay(desk, loan, "2026-04-01", f"{due + Decimal('300000.00'):.2f}")
        entry = await _posted_entry(desk, loan)
        assert entry["after"]["prepayment_option"] == "reduce_installment"
        assert entry["after"]["maturity_date"] == entry["before"]["maturity_date"]
        # The trail's instalments 2…12 are the loan's: an examiner needs no other source.
        later = {i["seq"]: i for i in entry["after"]["rescheduled"]}
        assert [later[s] for s in range(2, 13)] == _terms(paid["loan"]["schedule"])[1:]

    async def test_a_plain_instalment_changes_no_schedule(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_installment", amount="1200000.00")
        one = loan["schedule"][0]
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(
            desk,
            loan,
            one["due_date"],
            f"{Decimal(one['interest']) + Decimal(one['principal']):.2f}",
        )
        entry = await _posted_entry(desk, loan)
        assert entry["after"]["prepayment_option"] == "reduce_installment"
        assert entry["after"]["rescheduled"] == []
        assert entry["after"]["maturity_date"] == loan["maturity_date"]
