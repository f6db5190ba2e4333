"""Settings, read once from the environment (prefix ``IPLEDGE_``)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IPLEDGE_", env_file=None, extra="ignore")

    # Database. No URL: the embedded PostgreSQL under ``var_dir`` is started and used.
    database_url: SecretStr | None = None
    db_pool_size: int = Field(default=32, ge=1, le=500)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    # PostgreSQL's choice between custom and generic plans for prepared statements. Forcing
    # generic plans saves re-planning intake (~0.2 ms of PostgreSQL CPU) but turned the first
    # page of 1,000,000 applications from 6 ms into 580 ms (the limit unknown to the plan):
    # the default stays PostgreSQL's own.
    db_plan_cache_mode: str = Field(
        default="auto", pattern="^(auto|force_generic_plan|force_custom_plan)$"
    )
    # Single-statement writes of concurrent requests sent together (``app.core.batch``): at
    # most this many batches at the database at once (0: every request on its own connection),
    # each of at most ``db_batch_max`` statements.
    db_batch_inflight: int = Field(default=3, ge=0, le=64)
    db_batch_max: int = Field(default=32, ge=1, le=1000)
    var_dir: Path = PROJECT_ROOT / "var"

    # HTTP
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    public_base_url: str = "http://127.0.0.1:8000"
    problem_base_uri: str = "https://ipledge.example/problems/"
    log_level: str = "INFO"
    access_log: bool = True

    # Auth: how long an API process trusts a key lookup before asking the database again.
    # Revocation is also pushed to every process at once (LISTEN/NOTIFY); this bounds the lag
    # when that notification is missed.
    key_cache_ttl_s: float = Field(default=30.0, ge=0)
    # The bank's OpenID Connect provider (app.core.oidc): bearer tokens are accepted when an
    # issuer is set; role and subject are read from these claims.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_role_claim: str = "ipledge_role"
    oidc_subject_claim: str = "ipledge_subject"
    key_cache_max_entries: int = Field(default=10_000, ge=1)

    # Idempotency
    idempotency_ttl_hours: int = Field(default=24, ge=1)

    # Applications
    max_backdate_days: int = Field(default=30, ge=0)
    default_spread_bp: int = Field(default=100, ge=0, le=10_000)

    # Loans: penalty interest on overdue principal runs at the loan's rate × (1 + this).
    penalty_uplift: Decimal = Field(default=Decimal("0.5"), ge=0, le=10, decimal_places=4)

    # Webhooks
    webhooks_allow_private: bool = False
    webhook_retry_schedule_s: list[float] = [5, 300, 1800, 7200, 18000, 36000, 36000]
    webhook_retry_jitter: float = Field(default=0.1, ge=0, le=1)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_batch_size: int = Field(default=100, ge=1, le=10_000)
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)

    # Worker
    worker_poll_interval_s: float = Field(default=1.0, gt=0)
    # How long a stopping worker lets its loops finish the batch in hand.
    worker_shutdown_grace_s: float = Field(default=15.0, ge=0)
    # Serve the worker's own counters (webhook attempts) for Prometheus; off when no port.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    sla_sweep_interval_s: float = Field(default=60.0, gt=0)

    # Pools
    selection_time_budget_s: float = Field(default=4.0, gt=0)
    # Tape exports a process streams at once: each holds a database connection for its whole
    # download, so the rest wait their turn rather than drain the pool.
    tape_concurrency: int = Field(default=4, ge=1, le=100)


# Development defaults of the embedded mode (no IPLEDGE_DATABASE_URL: a developer's machine,
# ``make run``), pinned in the environment with the embedded database's URL unless set
# otherwise: webhooks may go to 127.0.0.1, and receipts reach back four months (far enough to
# cross a public holiday and to book a loan whose first instalment has fallen due), so the
# demo runs every step. A service given a database URL keeps the strict defaults above.
EMBEDDED_DEFAULTS = {
    "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE": "true",
    "IPLEDGE_MAX_BACKDATE_DAYS": "120",
}


@lru_cache
def get_settings() -> Settings:
    return Settings()
