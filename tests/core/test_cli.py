"""The command line, run as a newcomer would run it."""

import json
import os
import subprocess
import sys

import pytest

from app.cli import OPENAPI_PATH


def _ipledge(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "IPLEDGE_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.committed
def test_keys_create_json_prints_one_object(database_url):
    result = _ipledge(
        "keys",
        "create",
        "--role",
        "district_bureau",
        "--subject",
        "440307",
        "--json",
        database_url=database_url,
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"id", "role", "subject", "key"}
    assert created["role"] == "district_bureau" and created["subject"] == "440307"
    assert created["key"].startswith("ipk_")


def test_keys_create_refuses_bad_subject(database_url):
    result = _ipledge(
        "keys", "create", "--role", "district_bureau", "--subject", "123", database_url=database_url
    )
    assert result.returncode == 2
    assert "unknown district" in result.stderr
    assert "Traceback" not in result.stderr


def test_openapi_check(database_url, tmp_path):
    assert _ipledge("openapi", "--check", database_url=database_url).returncode == 0
    stale = tmp_path / "openapi.json"
    stale.write_text("{}")
    result = _ipledge("openapi", "--check", "--path", str(stale), database_url=database_url)
    assert result.returncode == 1
    assert OPENAPI_PATH.exists()


def _commands(group, prefix=()):
    import click

    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_is_summed_up_in_one_line_in_the_help():
    """`ipledge --help` lists each command with the first paragraph of its help (or its short
    help); a docstring wrapped in the source must not show its line breaks there."""
    import typer

    from app.cli import cli

    for path, command in _commands(typer.main.get_command(cli)):
        summary = (command.short_help or command.help or "").split("\n\n")[0].strip()
        assert summary, " ".join(path)
        assert "\n" not in summary, f"ipledge {' '.join(path)}: {summary!r}"


# keys, calendar and sla answered an unreachable database with a traceback of some 500 lines
# (ipledge migrate already said it in one); on the server, a database that is not there.
@pytest.mark.parametrize("where", ["no_database", "closed_port"])
@pytest.mark.parametrize(
    "command",
    [
        ["keys", "create", "--role", "admin"],
        ["keys", "revoke", "01a2520f-9763-73b5-a590-e761a31ed0a3"],
        ["calendar", "load"],
        ["sla", "sweep"],
    ],
)
def test_a_command_without_its_database_says_so_in_one_line(database_url, where, command):
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(password="Sekr1t-Pa55")
    url = url.set(database="ipledge_not_there") if where == "no_database" else url.set(port=9)
    result = _ipledge(*command, database_url=url.render_as_string(hide_password=False))
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("ipledge: database not reachable: "), line
    assert "Traceback" not in result.stderr and "Sekr1t" not in result.stderr


@pytest.mark.parametrize(
    "key_id",
    ["not-an-id", "{01a2520f-9763-73b5-a590-e761a31ed0a3}", "01a2520f976373b5a590e761a31ed0a3"],
)
def test_revoking_an_id_not_of_the_8_4_4_4_12_form_names_no_key(database_url, key_id):
    result = _ipledge("keys", "revoke", key_id, database_url=database_url)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "error: no such API key"
