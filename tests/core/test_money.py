"""Money is exact: strings or JSON numbers with at most two decimals, never a float."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.core import jsonutil
from app.core.schemas import Money, PositiveMoney


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
