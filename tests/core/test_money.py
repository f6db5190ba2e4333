"""Money is exact: strings or JSON numbers with at most two decimals, never a float."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.core import jsonutil
from app.core.schemas import LOAN_AMOUNT_MAX, LoanAmount, Money, PositiveMoney
from app.core.types import DATE_MAX, DATE_MIN


class Body(BaseModel):
    amount: Money


class Positive(BaseModel):
    amount: PositiveMoney


def parse(raw: str) -> Decimal:
    return Body.model_validate(jsonutil.loads(raw)).amount


class TestAccepted:
    @pytest.mark.parametrize(
        "raw,expected",
        [
            ('{"amount": "10000000.00"}', "10000000.00"),
            ('{"amount": "0.1"}', "0.10"),
            ('{"amount": "7"}', "7.00"),
            ('{"amount": 10000000.01}', "10000000.01"),
            ('{"amount": 30000000}', "30000000.00"),
            ('{"amount": 0.1}', "0.10"),
            ('{"amount": 123456789012345678.99}', "123456789012345678.99"),
        ],
    )
    def test_exact(self, raw, expected):
        assert parse(raw) == Decimal(expected)
        assert Body(amount=parse(raw)).model_dump(mode="json")["amount"] == expected

    @given(st.decimals(min_value=0, max_value=Decimal("999999999999999999.99"), places=2))
    def test_any_fen_amount_round_trips_as_string_and_number(self, amount):
        text = f"{amount:.2f}"
        assert parse(f'{{"amount": "{text}"}}') == amount
        assert parse(f'{{"amount": {text}}}') == amount
        assert Body(amount=amount).model_dump(mode="json")["amount"] == text


class TestRefused:
    @pytest.mark.parametrize(
        "raw",
        [
            '{"amount": "1.001"}',
            '{"amount": 1.001}',
            '{"amount": "-1.00"}',
            '{"amount": -1}',
            '{"amount": "1e5"}',
            '{"amount": 1e5}',
            '{"amount": 1E+2}',
            '{"amount": "NaN"}',
            '{"amount": "Infinity"}',
            '{"amount": "1,000.00"}',
            '{"amount": " 1.00"}',
            '{"amount": ""}',
            '{"amount": true}',
            '{"amount": null}',
            '{"amount": [1]}',
            '{"amount": "1000000000000000000.00"}',
        ],
    )
    def test_422_material(self, raw):
        with pytest.raises(ValidationError):
            parse(raw)

    def test_float_never_accepted(self):
        with pytest.raises(ValidationError):
            Body(amount=0.1)

    def test_positive_money_refuses_zero(self):
        with pytest.raises(ValidationError):
            Positive(amount="0.00")
        assert Positive(amount="0.01").amount == Decimal("0.01")

    @given(
        st.decimals(min_value=0, max_value=1000, places=3).filter(
            lambda d: d != d.quantize(Decimal("0.01"))
        )
    )
    def test_three_decimals_refused(self, amount):
        with pytest.raises(ValidationError):
            parse(f'{{"amount": "{amount}"}}')


class Loan(BaseModel):
    amount: LoanAmount


class TestLoanAmount:
    def test_up_to_one_trillion(self):
        assert Loan.model_validate(jsonutil.loads('{"amount": "1000000000000.00"}')).amount == (
            Decimal("1000000000000.00")
        )
        assert Loan.model_validate(jsonutil.loads('{"amount": 1000000000000}')).amount == (
            Decimal("1000000000000.00")
        )

    @pytest.mark.parametrize(
        "raw",
        ['{"amount": "1000000000000.01"}', '{"amount": 99999999999999999.99}', '{"amount": 0}'],
    )
    def test_more_or_nothing_refused(self, raw):
        with pytest.raises(ValidationError):
            Loan.model_validate(jsonutil.loads(raw))

    def test_every_figure_of_the_largest_loan_fits_64_bits(self):
        # The servicing engine keeps amounts in fen and the penalty base in fen-days; both are
        # stored as bigint. 10^12 CNY = 10^14 fen, over every day between the earliest and the
        # latest date the service stores (1990-01-01 .. 2100-12-31, 40,541 days).
        days = (DATE_MAX - DATE_MIN).days
        assert LOAN_AMOUNT_MAX * 100 * days < 2**63
