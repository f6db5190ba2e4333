"""Settings as an operator meets them: the real command line in a child process. A bad value
stops the process with one line naming the variable (no traceback); a variable that names no
setting is reported; a pool the server cannot hold is refused at start-up."""

from __future__ import annotations

import socket
import subprocess

import pytest

from app.config import Settings
from tests.ops.conftest import ipledge


def run(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    proc = ipledge(*args, env=env)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # a command that did not stop is the failure, not a process left behind
        proc.communicate()
        raise
    return proc.returncode, stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("IPLEDGE_DB_POOL_SIZE", "many", "valid integer"),
        ("IPLEDGE_DB_POOL_SIZE", "0", "greater than or equal to 1"),
        ("IPLEDGE_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("IPLEDGE_WEBHOOK_RETRY_SCHEDULE_S", "[]", "at least 1 item"),
        ("IPLEDGE_WEBHOOK_RETRY_SCHEDULE_S", "[5, -300]", "positive number of seconds"),
        ("IPLEDGE_WEBHOOK_RETRY_SCHEDULE_S", "5, 300", "lists are JSON"),
        ("IPLEDGE_WEBHOOK_TIMEOUT_S", "-1", "greater than 0"),
        ("IPLEDGE_LOG_LEVEL", "", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("IPLEDGE_DATABASE_URL", "db.internal:5432", "not a URL"),
        ("IPLEDGE_OIDC_ISSUER", "sso.bank.example", "the issuer's URL"),
        ("IPLEDGE_OIDC_ISSUER", "https://sso.bank.example", "IPLEDGE_OIDC_AUDIENCE=''"),
        ("IPLEDGE_OIDC_AUDIENCE", "ipledge-api", "needs IPLEDGE_OIDC_ISSUER, which is unset"),
        ("IPLEDGE_OIDC_ROLE_CLAIM", "", "must name a claim of the tokens"),
        ("IPLEDGE_OIDC_SUBJECT_CLAIM", "", "must name a claim of the tokens"),
        # Problem types end in /problems/<slug> (README, Conventions): a prefix that does not
        # end so would hand callers types their clients cannot read the slug from.
        ("IPLEDGE_PROBLEM_BASE_URI", "https://bank.example/problems", "ending in /problems/"),
        ("IPLEDGE_PROBLEM_BASE_URI", "https://bank.example/errors/", "ending in /problems/"),
        ("IPLEDGE_PROBLEM_BASE_URI", "/problems/", "ending in /problems/"),
        (
            "IPLEDGE_DATABASE_URL",
            "postgresql://u:pw@127.0.0.1:5432/x?application_name=ipledge",
            "parameter 'application_name' is not read",
        ),
        ("IPLEDGE_PROBLEM_BASE_URI", "https://u:pw@bank.example/problems/", "no user or password"),
        ("IPLEDGE_OIDC_ISSUER", "https://u:pw@sso.bank.example", "the issuer's URL"),
    ],
)
def test_a_bad_value_stops_with_one_line_naming_it(database_url, variable, value, says):
    code, stderr = run("migrate", env={"IPLEDGE_DATABASE_URL": database_url, variable: value})
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert variable in lines[0] and says in lines[0]
    assert "Traceback" not in stderr
    assert "pw" not in stderr  # a URL's password is never shown


def test_a_database_url_that_is_not_postgresql_stops_without_showing_it():
    code, stderr = run(
        "migrate", env={"IPLEDGE_DATABASE_URL": "mysql://ipledge:Sekr1t@db.internal/ipledge"}
    )
    assert code == 2
    assert stderr.strip() == (
        "ipledge: invalid setting IPLEDGE_DATABASE_URL: not a PostgreSQL URL; "
        "expected postgresql://user:password@host:5432/database"
    )


def test_an_empty_value_leaves_an_optional_setting_unset(database_url, monkeypatch):
    """As configuration.md says: ``IPLEDGE_RETENTION_WEBHOOK_EVENTS_DAYS=`` keeps that history
    for ever, and an empty port, issuer or token is none at all."""
    empty = {
        "IPLEDGE_RETENTION_WEBHOOK_EVENTS_DAYS": "",
        "IPLEDGE_RETENTION_WEBHOOK_DELIVERIES_DAYS": "",
        "IPLEDGE_RETENTION_WEBHOOK_ATTEMPTS_DAYS": "",
        "IPLEDGE_WORKER_METRICS_PORT": "",
        "IPLEDGE_OIDC_ISSUER": "",
        "IPLEDGE_METRICS_TOKEN": "",
    }
    for name, value in empty.items():
        monkeypatch.setenv(name, value)
    settings = Settings(database_url=database_url)
    assert settings.retention_webhook_events_days is None
    assert settings.retention_webhook_deliveries_days is None
    assert settings.retention_webhook_attempts_days is None
    assert settings.worker_metrics_port is None
    assert settings.oidc_issuer is None
    assert settings.metrics_token is None
    code, stderr = run("migrate", env={"IPLEDGE_DATABASE_URL": database_url, **empty})
    assert code == 0, stderr


def test_an_unknown_variable_is_named_in_a_warning(database_url):
    code, stderr = run(
        "openapi",
        "--check",
        env={"IPLEDGE_DB_POOL_SIZ": "8", "IPLEDGE_TEST_DATABASE_URL": database_url},
    )
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if "warning" in line]
    assert warnings == ["ipledge: warning: IPLEDGE_DB_POOL_SIZ is not a setting; ignored"]


@pytest.mark.parametrize("command", [["serve", "--workers", "4"], ["worker"]])
def test_a_pool_larger_than_the_server_allows_is_refused_at_start_up(database_url, command):
    code, stderr = run(
        *command, env={"IPLEDGE_DATABASE_URL": database_url, "IPLEDGE_DB_POOL_SIZE": "499"}
    )
    assert code == 2, stderr
    [line] = stderr.strip().splitlines()[-1:]
    assert "IPLEDGE_DB_POOL_SIZE=499" in line and "max_connections" in line
    assert "Traceback" not in stderr


def test_a_worker_listener_address_in_use_stops_with_one_line(database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stderr = run(
            "worker",
            env={"IPLEDGE_DATABASE_URL": database_url, "IPLEDGE_WORKER_METRICS_PORT": str(port)},
        )
    assert code == 2, stderr
    assert "Traceback" not in stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("ipledge: invalid setting IPLEDGE_WORKER_METRICS_HOST")
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_a_problem_base_uri_of_the_banks_own_is_used_as_given(database_url, monkeypatch):
    monkeypatch.setenv("IPLEDGE_PROBLEM_BASE_URI", "https://api.bank.example/ipledge/problems/")
    settings = Settings(database_url=database_url)
    assert settings.problem_base_uri == "https://api.bank.example/ipledge/problems/"


# A database URL the driver cannot read used to pass the check and stop every command with a
# traceback of hundreds of lines on first use. The libpq way of naming several hosts is one of
# them: the runbook's failover advice, written as libpq users write it.
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://ipledge:Sekr1t@db.internal:port/ipledge", "host or port cannot be read"),
        ("postgresql://ipledge:Sekr1t@db.internal:99999/ipledge", "port is not 1-65535"),
        ("postgresql://ipledge:Sekr1t@[::1/ipledge", "host or port cannot be read"),
        (
            "postgresql://ipledge:Sekr1t@db1.internal:5432,db2.internal:5432/ipledge",
            "?host=host1:5432&host=host2:5432",
        ),
    ],
)
@pytest.mark.parametrize(
    "command", [["migrate"], ["worker"], ["keys", "create", "--role", "admin"]]
)
def test_a_database_url_the_driver_cannot_read_stops_with_one_line(url, says, command):
    code, stderr = run(*command, env={"IPLEDGE_DATABASE_URL": url})
    assert code == 2, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("ipledge: invalid setting IPLEDGE_DATABASE_URL: ") and says in line
    assert "Sekr1t" not in stderr and "Traceback" not in stderr


def test_several_hosts_in_the_query_are_a_valid_database_url(database_url):
    """The form the one-line refusal above points to."""
    many = "postgresql://ipledge:Sekr1t@/ipledge?host=db1.internal:5432&host=db2.internal:5432"
    assert Settings(database_url=many).database_url is not None


@pytest.mark.parametrize("tls", ["sslmode=disable", "ssl=disable"])
def test_a_database_url_asking_for_tls_either_way_is_used(database_url, tls):
    """libpq's ``sslmode`` (what a PostgreSQL URL says) stopped every command with a TypeError
    from the driver; SQLAlchemy's ``ssl`` reached the server from the start-up pool check as a
    setting it cannot change, so the check was silently skipped. Both are read by both now."""
    separator = "&" if "?" in database_url else "?"
    url = f"{database_url}{separator}{tls}"
    code, stderr = run("migrate", env={"IPLEDGE_DATABASE_URL": url})
    assert code == 0, stderr
    code, stderr = run("worker", env={"IPLEDGE_DATABASE_URL": url, "IPLEDGE_DB_POOL_SIZE": "499"})
    assert code == 2, stderr
    assert "IPLEDGE_DB_POOL_SIZE=499" in stderr.strip().splitlines()[-1]
