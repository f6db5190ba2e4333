"""A database URL the server refuses (a database that does not exist, a role it does not know,
a wrong password): requests are answered 503 ``service-unavailable``, as for a database that
cannot be reached, never 500; a worker's pass logs one line naming the database, not a
traceback on every pass."""

from __future__ import annotations

import pytest
import structlog
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from tests.conftest import problem_of
from tests.ops.conftest import app_client

MADE_UP_KEY = {"Authorization": "Bearer ipk_" + "0" * 32 + "_" + "x" * 43}


def _refused(database_url: str, how: str) -> str:
    url = make_url(database_url)
    if how == "database":
        url = url.set(database="ipledge_no_such_database")
    else:
        url = url.set(username="ipledge_no_such_role")
    return url.render_as_string(hide_password=False)


@pytest.mark.parametrize("how", ["database", "role"])
async def test_a_refused_connection_answers_503_and_logs_one_line(database_url, how):
    url = _refused(database_url, how)
    async with app_client(url, database_url=url) as http:
        answer = await http.get("/v1/api-keys", headers=MADE_UP_KEY)
        ready = await http.get("/readyz")
        with pytest.raises(Exception) as refused:
            async with http.runtime.database.connection() as db:
                await db.fetchval("SELECT 1")
        with capture_logs() as logs:
            http.runtime.log_failure(
                structlog.get_logger("test"), "job failed", refused.value, job="sla_sweep"
            )
    assert answer.status_code == 503, answer.text
    assert problem_of(answer)["type"].endswith("/service-unavailable")
    assert "retry-after" in answer.headers
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    [line] = logs
    assert "exc_info" not in line, line
    assert line["database"] != "embedded"
