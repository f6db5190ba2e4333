"""Settings, read once from the environment (prefix ``IPLEDGE_``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "IPLEDGE_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The database URLs the service can use (``app.core.db.async_url`` turns each into asyncpg's).
POSTGRESQL_SCHEMES = (
    "postgresql",
    "postgres",
    "postgresql+asyncpg",
    "postgresql+psycopg",
    "postgresql+psycopg2",
)
POSTGRESQL_URL_FORM = "expected postgresql://user:password@host:5432/database"
# libpq's "host1:5432,host2:5432" is not read by the driver (SQLAlchemy's asyncpg dialect).
POSTGRESQL_MULTI_HOST_FORM = "postgresql://user:password@/database?host=host1:5432&host=host2:5432"
# The query parameters of a database URL both the pooled (SQLAlchemy) and the direct
# (asyncpg) connections read alike; any other would reach one of them as an argument it
# refuses, on first use.
DATABASE_URL_PARAMETERS = frozenset({"host", "port", "ssl", "sslmode", "target_session_attrs"})
# Variables with the prefix that are not settings of the service: the test suite's, the
# benchmark's, the demo's, and where the image keeps the migrations.
NOT_SETTINGS = ("IPLEDGE_TEST_", "IPLEDGE_BENCH_", "IPLEDGE_FUZZ_", "IPLEDGE_DEMO_")
NOT_SETTINGS_NAMES = ("IPLEDGE_MIGRATIONS_DIR",)


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _bare_http_url(url: str) -> bool:
    """An http(s) URL with a host and nothing a setting naming a place must not carry: no user
    or password, no query, no fragment, no blank."""
    parts = urlsplit(url)
    return (
        parts.scheme in ("https", "http")
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and not any(ch in "?#" or ch.isspace() for ch in url)
    )


def key_source_url(url: str) -> bool:
    """Whether signing keys may be fetched from ``url``: over https, or over plain http from
    this machine's loopback only (a provider run beside the service, as in tests). Keys fetched
    over plain http from anywhere else could be swapped on the way, and tokens forged with
    them."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


class Settings(BaseSettings):
    # An empty value leaves an optional setting unset (``IPLEDGE_RETENTION_WEBHOOK_EVENTS_DAYS=``
    # keeps that history for ever); for a required one it is a bad value like any other.
    model_config = SettingsConfigDict(
        env_prefix="IPLEDGE_", env_file=None, extra="ignore", env_parse_none_str=""
    )

    # Database. No URL: the embedded PostgreSQL under ``var_dir`` is started and used.
    database_url: SecretStr | None = None
    db_pool_size: int = Field(default=32, ge=1, le=500)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    # The client's bound on each statement (a frozen server enforces no statement_timeout):
    # longer than statement_timeout, so the server's own answer comes first when it can.
    db_command_timeout_s: float = Field(default=35.0, gt=0)
    db_connect_timeout_s: float = Field(default=10.0, gt=0)
    # A request waiting this long for a lock (a migration, a long write holding it) gives up
    # with a 503 lock-timeout problem instead of queueing behind it.
    db_lock_timeout_ms: int = Field(default=10_000, ge=0)
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
    # The migration connection: a migration that cannot take its lock within this gives up
    # (and ``ipledge migrate`` tries it again) instead of queueing traffic behind it.
    migration_lock_timeout_ms: int = Field(default=3_000, ge=1)
    migration_statement_timeout_ms: int = Field(default=600_000, ge=0)

    # HTTP
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    problem_base_uri: str = "https://ipledge.example/problems/"
    log_level: str = "INFO"
    access_log: bool = True
    # After SIGTERM: how long /readyz answers 503 while requests are still served, so a load
    # balancer stops sending new ones before the server closes its connections.
    shutdown_drain_s: float = Field(default=0.0, ge=0, le=300)
    # Then how long requests in flight may take to finish before they are cut.
    graceful_shutdown_s: float = Field(default=30.0, ge=0, le=3600)
    # Idle keep-alive connections are closed after this; behind a load balancer make it longer
    # than the balancer's own idle timeout, or it will send on a connection being closed.
    keep_alive_s: float = Field(default=75.0, gt=0, le=3600)
    # Behind a proxy: trust X-Forwarded-For/-Proto from these addresses (comma-separated, or *).
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"

    # Auth: how long an API process trusts a key lookup before asking the database again.
    # Revocation is also pushed to every process at once (LISTEN/NOTIFY); this bounds the lag
    # when that notification is missed.
    key_cache_ttl_s: float = Field(default=30.0, ge=0)
    # The bank's OpenID Connect provider (app.core.oidc): bearer tokens are accepted when an
    # issuer is set; role and subject are read from these claims.
    oidc_issuer: str | None = None
    # Checked even when unset: an issuer without an audience is refused at start-up.
    oidc_audience: str | None = Field(default=None, validate_default=True)
    oidc_role_claim: str = "ipledge_role"
    oidc_subject_claim: str = "ipledge_subject"
    key_cache_max_entries: int = Field(default=10_000, ge=1)

    # Idempotency
    idempotency_ttl_hours: int = Field(default=24, ge=1)

    # Retention: how long webhook history is kept (days; unset: for ever). Deliveries go with
    # their attempts, and only once finished; an event goes once its deliveries are gone, so
    # it is kept at least as long as they are. Stored idempotent responses go after
    # ``idempotency_ttl_hours``. The audit trail is never deleted (docs/operations.md).
    retention_webhook_events_days: int | None = Field(default=90, ge=1)
    retention_webhook_deliveries_days: int | None = Field(default=30, ge=1)
    retention_webhook_attempts_days: int | None = Field(default=30, ge=1)
    # Rows deleted per statement (each its own short transaction), and how often.
    retention_batch_size: int = Field(default=1000, ge=1, le=100_000)
    retention_interval_s: float = Field(default=3600.0, gt=0)

    # Applications
    max_backdate_days: int = Field(default=30, ge=0)
    default_spread_bp: int = Field(default=100, ge=0, le=10_000)

    # Loans: penalty interest on overdue principal runs at the loan's rate × (1 + this).
    penalty_uplift: Decimal = Field(default=Decimal("0.5"), ge=0, le=10, decimal_places=4)

    # Webhooks
    webhooks_allow_private: bool = False
    webhook_retry_schedule_s: list[float] = Field(
        default=[5, 300, 1800, 7200, 18000, 36000, 36000], min_length=1, max_length=100
    )
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
    # What ``ipledge healthcheck`` (the image's HEALTHCHECK) asks: the API's readiness by
    # default; a worker's container points it at the worker's own /healthz.
    healthcheck_url: str = "http://127.0.0.1:8000/readyz"
    sla_sweep_interval_s: float = Field(default=60.0, gt=0)
    # How often the worker recomputes the business gauges it serves on its /metrics.
    gauges_interval_s: float = Field(default=30.0, gt=0)

    # Metrics: when set, /metrics (the API's and the worker's) wants
    # ``Authorization: Bearer <token>``.
    metrics_token: SecretStr | None = None

    # Pools
    selection_time_budget_s: float = Field(default=4.0, gt=0)
    # Tape exports a process streams at once: each holds a database connection for its whole
    # download, so the rest wait their turn rather than drain the pool.
    tape_concurrency: int = Field(default=4, ge=1, le=100)

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Refused here, at start-up, rather than by the driver on first use; the message
        never repeats the URL, which carries the password."""
        if value is None:
            return value
        scheme, separator, _ = value.get_secret_value().partition("://")
        if not separator:
            raise ValueError(f"not a URL; {POSTGRESQL_URL_FORM}")
        if scheme.lower() not in POSTGRESQL_SCHEMES:
            raise ValueError(f"not a PostgreSQL URL; {POSTGRESQL_URL_FORM}")
        # The driver would otherwise refuse it on first use, with a traceback, in every
        # command; the message names the part, never the URL.
        hosts = re.split(r"[/?]", value.get_secret_value().partition("://")[2])[0]
        if "," in hosts.rpartition("@")[2]:
            raise ValueError(f"several hosts are written {POSTGRESQL_MULTI_HOST_FORM}")
        try:
            url = make_url(value.get_secret_value())
        except Exception:
            raise ValueError(f"its host or port cannot be read; {POSTGRESQL_URL_FORM}") from None
        if url.port is not None and not 1 <= url.port <= 65535:
            raise ValueError(f"its port is not 1-65535; {POSTGRESQL_URL_FORM}")
        unread = sorted(set(url.query) - DATABASE_URL_PARAMETERS)
        if unread:
            raise ValueError(
                f"parameter {unread[0][:40]!r} is not read; the URL takes "
                + ", ".join(sorted(DATABASE_URL_PARAMETERS))
            )
        return value

    @field_validator("problem_base_uri")
    @classmethod
    def _problem_base(cls, value: str) -> str:
        # Every problem's ``type`` is this and the slug: callers (and the Python client) read
        # the slug after ``/problems/``, so the prefix must end so, on an absolute URL.
        # It is in every problem a caller sees: no user or password may ride in it.
        if not _bare_http_url(value) or not value.endswith("/problems/"):
            raise ValueError(
                "must be an http(s) URL, with no user or password, ending in /problems/"
            )
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_url(cls, value: str | None) -> str | None:
        # Tokens must name it exactly and its discovery document is found under it, so a value
        # without a host, with a query, a fragment or a blank would refuse every token.
        if value is not None and not _bare_http_url(value):
            raise ValueError("must be the issuer's URL, e.g. https://sso.bank.example/realms/staff")
        if value is not None and not key_source_url(value):
            raise ValueError(
                "must be https: the signing keys are fetched from it (plain http only on this "
                "machine's loopback)"
            )
        return value

    @field_validator("oidc_audience")
    @classmethod
    def _audience_with_issuer(cls, value: str | None, info: ValidationInfo) -> str | None:
        given = bool(value and value.strip())
        if info.data.get("oidc_issuer") and not given:
            raise ValueError("required with IPLEDGE_OIDC_ISSUER")
        # An audience alone would be ignored, and whoever set it believe tokens are checked.
        # (An issuer refused for its value is reported on its own.)
        if given and "oidc_issuer" in info.data and not info.data["oidc_issuer"]:
            raise ValueError("needs IPLEDGE_OIDC_ISSUER, which is unset")
        return value

    @field_validator("oidc_role_claim", "oidc_subject_claim", mode="before")
    @classmethod
    def _claim_name(cls, value: object, info: ValidationInfo) -> object:
        # Empty, it reaches here as None (``env_parse_none_str``); blank, no token carries it.
        if value is None or (isinstance(value, str) and not value.strip()):
            example = cls.model_fields[str(info.field_name)].default
            raise ValueError(f"must name a claim of the tokens, e.g. {example}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> str:
        level = str(value or "").strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError("must be one of " + ", ".join(LOG_LEVELS))
        return level

    @field_validator("webhook_retry_schedule_s")
    @classmethod
    def _positive_waits(cls, value: list[float]) -> list[float]:
        if any(not wait > 0 for wait in value):
            raise ValueError("every wait must be a positive number of seconds")
        return value


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


def describe_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting, naming its variable; never the value of a secret."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = PREFIX + field.upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = ""
        if (
            field in Settings.model_fields
            and "secret" not in str(Settings.model_fields[field].annotation).lower()
        ):
            given = "" if error.get("input") is None else str(error.get("input"))
            # An empty value reaches a required setting as None (``env_parse_none_str``); a URL
            # that carries a user or password is not shown at all.
            if "input" in error and not ("://" in given and "@" in given):
                shown = f"={given[:60]!r}"
        lines.append(f"invalid setting {name}{shown}: {message}")
    return lines


def describe_source_error(exc: Exception) -> str:
    """A value the environment source could not even parse (a list that is not JSON)."""
    match = re.search(r'field "([a-z0-9_]+)"', str(exc))
    name = PREFIX + match.group(1).upper() if match else "an IPLEDGE_ variable"
    return f"invalid setting {name}: not a valid value (lists are JSON, e.g. [5, 300])"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``IPLEDGE_`` variables that name no setting (a misspelling is otherwise silent)."""
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(
        name
        for name in environ
        if name.upper().startswith(PREFIX)
        and name.upper() not in known
        and name.upper() not in NOT_SETTINGS_NAMES
        and not name.upper().startswith(NOT_SETTINGS)
    )
