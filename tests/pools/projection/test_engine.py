"""The projection core on cases worked by hand (the arithmetic is in the comments), and the
exactness of the CPR = CDR = 0 case."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from app.pools.projection import engine
from app.pools.projection.model import PoolSchedule, Scenario, Structure, Tranche

D = Decimal
MILLION = 100_000_000  # CNY 1,000,000.00 in fen


def bullet(balance: int = MILLION, months: int = 12, interest: int = 300_000) -> PoolSchedule:
    """One loan: interest only (3,000.00 a month on 1,000,000.00 at 3.6%), all principal in
    the last month."""
    principal = np.zeros(months, dtype=np.int64)
    principal[-1] = balance
    return PoolSchedule(
        balance=balance, principal=principal, interest=np.full(months, interest, dtype=np.int64)
    )


def scenario(cpr="0", cdr="0", rate="0", lag=0) -> Scenario:
    return Scenario(cpr=D(cpr), cdr=D(cdr), recovery_rate=D(rate), recovery_lag_months=lag)


ONE = Structure(tranches=(Tranche("A", D("1"), 300),), fees_bp=0)
SENIOR_JUNIOR = Structure(
    tranches=(Tranche("A", D("0.98"), 0), Tranche("B", D("0.02"), 0)), fees_bp=0
)


class TestPrepaymentsByHand:
    """1,000,000.00 bullet over 12 months, CPR 12%, no defaults, one tranche at 3%.

    SMM = 1 − 0.88^(1/12) = 0.010596241035…
    month 1: prepayment = SMM × 1,000,000 = 10,596.241… → 10,596.24; interest 3,000.00 (the
             whole balance was there when the month began)
    month 2: interest = 3,000 × (1 − SMM) = 2,968.2112… → 2,968.21;
             prepayment = SMM × (1 − SMM) × 1,000,000 = 10,483.9607… → 10,483.96
    month 12: scheduled principal = (1 − SMM)^11 × 1,000,000 = 0.88^(11/12) × 1,000,000
             = 889,424.5569… → 889,424.56, and no prepayment (nothing remains after it);
             interest = 3,000 × 0.88^(11/12) = 2,668.2736… → 2,668.27
    prepayments in all: 1,000,000 − 889,424.5569… = 110,575.4430… → 110,575.44
    interest in all: Σ 3,000 × (1 − SMM)^k, k = 0..11 = 33,974.3120… → 33,974.31
    """

    def test_monthly_flows(self) -> None:
        assert engine.monthly_rate(0.12) == pytest.approx(0.0105962410353190, abs=1e-15)
        flows = engine.collateral(bullet(), scenario(cpr="0.12"))
        assert flows.months == 12
        assert flows.prepayments[0] == 1_059_624
        assert flows.interest[0] == 300_000
        assert flows.interest[1] == 296_821
        assert flows.prepayments[1] == 1_048_396
        assert flows.scheduled_principal[11] == 88_942_456
        assert flows.prepayments[11] == 0
        assert flows.interest[11] == 266_827
        assert flows.prepayments.sum() == 11_057_544
        assert flows.interest.sum() == 3_397_431
        assert flows.ending[-1] == 0

    def test_the_tranche(self) -> None:
        # The tranche is the pool: it gets every fen of principal, and 3% of its balance a
        # month as interest: month 1, 1,000,000 × 0.03 / 12 = 2,500.00, leaving 500.00 of
        # excess spread released.
        out = engine.project(bullet(), scenario(cpr="0.12"), ONE)
        a = out.tranches[0]
        assert a.interest_paid[0] == 250_000
        assert out.released[0] == 50_000
        assert sum(a.principal_paid) == MILLION
        assert a.principal_paid[0] == 1_059_624
        # month 2: 3% / 12 on 1,000,000 − 10,596.24 = 989,403.76 → 2,473.5094 → 2,473.51
        assert a.interest_paid[1] == 247_351
        total = out.totals[0]
        assert total.loss == 0
        assert total.first_payment_period == 1 and total.last_payment_period == 12
        # WAL = Σ t/12 × principal_t / Σ principal_t
        wal = sum(t * p for t, p in enumerate(a.principal_paid, start=1)) / 12 / MILLION
        assert float(total.wal_years) == pytest.approx(wal, abs=5e-5)
        assert 0.9 < wal < 1.0  # mostly repaid at month 12


class TestLossesByHand:
    """1,000,000.00 bullet over 12 months, CDR 12% (MDR = 0.010596241… as the SMM above), no
    prepayments, 40% recovered 2 months later; tranche A 98% and B 2% (20,000.00).

    defaults: month 1 = MDR × 1,000,000 = 10,596.24; month 2 = MDR(1 − MDR) × 1,000,000
              = 10,483.96; month 3 = 10,372.87; month 4 = 10,262.96
    recoveries (40%, each half-up): 4,238.50, 4,193.58, 4,149.15, 4,105.18 in months 3–6
    losses (60%): 6,357.74 + 6,290.38 + 6,223.72 = 18,871.84 by month 3; B keeps 1,128.16
    month 4: loss 6,157.78, B takes 1,128.16 and A is written down 5,029.62
    in all 1,000,000 × (1 − 0.88) = 120,000.00 defaults, 72,000.00 lost: B 20,000.00 and
    A about 52,000.00 (each month's recovery rounded on its own: a few fen either way)
    """

    def test_losses_climb_the_structure(self) -> None:
        out = engine.project(bullet(), scenario(cdr="0.12", rate="0.4", lag=2), SENIOR_JUNIOR)
        flows = out.collateral
        assert flows.defaults[:4].tolist() == [1_059_624, 1_048_396, 1_037_287, 1_026_296]
        assert flows.recoveries[2:6].tolist() == [423_850, 419_358, 414_915, 410_518]
        assert flows.recoveries[:2].tolist() == [0, 0]
        assert flows.months == 14  # two months more for the last recoveries
        a, b = out.tranches
        assert b.writedown[:3] == [635_774, 629_038, 622_372]
        assert b.ending_balance[2] == 112_816
        assert b.writedown[3] == 112_816 and a.writedown[3] == 502_962
        assert a.writedown[:3] == [0, 0, 0]
        assert flows.defaults.sum() == 12_000_000
        assert out.totals[1].loss == 2_000_000
        assert abs(out.totals[0].loss - 5_200_000) <= 6
        assert a.ending_balance[-1] == 0 and b.ending_balance[-1] == 0

    def test_breakeven(self) -> None:
        # A bullet with no prepayments defaults CDR of its balance over the year (1 − (1 −
        # MDR)^12 = CDR), 60% of it lost: B's 20,000 is gone when 0.6 × CDR × 1,000,000 >
        # 20,000, CDR > 0.0333…: at 0.0333 the loss is 19,980.00, at 0.0334 it is 20,040.00.
        s = scenario(cdr="0.5", rate="0.4", lag=2)
        assert engine.breakeven_cdr(bullet(), s, SENIOR_JUNIOR) == D("0.0334")
        assert engine.senior_loss(bullet(), scenario(cdr="0.0333", rate="0.4"), SENIOR_JUNIOR) == 0
        assert engine.senior_loss(bullet(), scenario(cdr="0.0334", rate="0.4"), SENIOR_JUNIOR) > 0

    def test_no_breakeven_when_nothing_is_lost(self) -> None:
        s = scenario(cdr="0.2", rate="1", lag=3)
        assert engine.breakeven_cdr(bullet(), s, SENIOR_JUNIOR) is None


class TestFeesAndShortfalls:
    def test_fees_first_then_coupons_carry_their_shortfall(self) -> None:
        # Interest 1,000.00 a month on 1,000,000.00. Fees 60bp: 1,000,000 × 0.006 / 12 =
        # 500.00. A (80%, 600bp): 800,000 × 0.06 / 12 = 4,000.00 due, 500.00 paid, 3,500.00
        # short; month 2 it is owed 4,000.00 again plus the 3,500.00 carried.
        out = engine.project(
            bullet(interest=100_000, months=3),
            scenario(),
            Structure(
                tranches=(Tranche("A", D("0.8"), 600), Tranche("B", D("0.2"), 900)), fees_bp=60
            ),
        )
        assert out.fees[:2] == [50_000, 50_000]
        a, b = out.tranches
        assert a.interest_paid[:2] == [50_000, 50_000]
        assert a.shortfall[:2] == [350_000, 700_000]
        assert b.interest_paid[0] == 0 and b.shortfall[0] == 150_000  # 200,000 × 9% / 12
        assert out.released == [0, 0, 0]


class TestScheduleExactness:
    """With CPR = CDR = 0 the collections are the schedule's own instalments, to the fen, even
    for amounts whose float sum would not be exact."""

    def test_collections_are_the_instalments(self) -> None:
        rng = np.random.default_rng(7)
        loans, months = 300, 60
        principal = rng.integers(0, 10**11, size=(loans, months), dtype=np.int64)
        interest = rng.integers(0, 10**9, size=(loans, months), dtype=np.int64)
        cut_off = principal.sum(axis=1)
        schedule = engine.aggregate(cut_off, principal, interest)
        flows = engine.collateral(schedule, scenario(rate="0.5", lag=6))
        assert flows.scheduled_principal.tolist() == principal.sum(axis=0).tolist()
        assert flows.interest.tolist() == interest.sum(axis=0).tolist()
        assert not flows.prepayments.any() and not flows.defaults.any()
        assert not flows.recoveries.any() and flows.months == months
        assert flows.ending[-1] == 0
        # as Decimal money: the same sums, fen for fen
        expected = sum(Decimal(int(v)) / 100 for v in principal[:, 17])
        assert Decimal(int(flows.scheduled_principal[17])) / 100 == expected


class TestStructureRules:
    @pytest.mark.parametrize(
        "tranches",
        [
            (),
            (Tranche("A", D("0.5"), 0),),
            (Tranche("A", D("0.5"), 0), Tranche("A", D("0.5"), 0)),
        ],
    )
    def test_refused(self, tranches: tuple[Tranche, ...]) -> None:
        with pytest.raises(ValueError):
            Structure(tranches=tranches, fees_bp=0)

    def test_rates_and_lags(self) -> None:
        with pytest.raises(ValueError):
            scenario(cpr="1.1")
        with pytest.raises(ValueError):
            scenario(lag=-1)

    def test_shares_round_and_add_up(self) -> None:
        # 1/3 and 2/3 of 1.00 CNY (100 fen): 33.33 → 33 fen, the junior takes 67.
        from app.pools.projection.waterfall import original_balances

        s = Structure(
            tranches=(Tranche("A", D("0.3333"), 0), Tranche("B", D("0.6667"), 0)), fees_bp=0
        )
        assert original_balances(100, s) == [33, 67]
