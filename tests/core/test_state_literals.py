"""Each state set is one enum in ``app.models``; the Literal the schemas type a state with (so
that the OpenAPI document spells the values inline) names exactly the enum's values, in order."""

from typing import get_args

import pytest

from app.models.loan import LoanState, LoanStateLiteral
from app.models.pledge import PledgeState, PledgeStateLiteral
from app.models.pool import PoolState, PoolStateLiteral
from app.models.subsidy_claim import (
    DECIDED_STATES,
    ClaimOutcomeLiteral,
    ClaimState,
    ClaimStateLiteral,
)


@pytest.mark.parametrize(
    ("literal", "values"),
    [
        (PledgeStateLiteral, tuple(PledgeState)),
        (LoanStateLiteral, tuple(LoanState)),
        (PoolStateLiteral, tuple(PoolState)),
        (ClaimStateLiteral, tuple(ClaimState)),
        (ClaimOutcomeLiteral, DECIDED_STATES),
    ],
)
def test_a_state_literal_names_its_enum(literal, values):
    assert get_args(literal) == tuple(str(v) for v in values)
