"""The audit trail and the outbox: their typed entries and the one way they are written.

Every audit row (``audit_events``) and every outbox row (``outbox_events``) is an ``AuditEntry``
or an ``Event`` rendered here into an ``INSERT`` that runs inside the statement or transaction
of the change it describes. Two shapes, one renderer:

- the entries a request or job queued (``app.core.outbox``), all values known in Python: one
  ``INSERT … SELECT FROM unnest(…)`` per table, written just before the commit;
- the entries of a single-statement write whose values the statement itself works out (a
  reference drawn from a sequence, the deadline of the tier the amount falls in): a field may be
  an ``Sql`` expression over the columns of that statement's ``source`` rows, and the entry is
  written once per source row, so by the statement or not at all.

Placeholders are numbered by the statement's own ``Params``, so a fragment is never renumbered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from app.core.ids import uuid7
from app.core.jsonutil import snapshot


class Sql(str):
    """A SQL expression over the columns of the statement's source rows."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made the change, when, and under which request: the columns every entry shares."""

    at: datetime
    key_id: UUID | None
    role: str
    subject: str | None
    request_id: str
    # The person the bank's identity provider signed in (a token's ``sub``); None for a key.
    signed_in_as: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    action: str | Sql
    entity_type: str | Sql
    entity_id: str | Sql
    before: Any = None
    after: Any = None


@dataclass(frozen=True, slots=True)
class Event:
    """An outbox event. Written by a statement of several source rows, its ``id`` is SQL
    (``Sql("uuid7()")``, or a column): a Python id names one event."""

    type: str | Sql
    data: Any
    district_code: str | Sql | None = None
    id: UUID | Sql = field(default_factory=uuid7)


class Params:
    """The positional parameters of one statement: ``add`` returns the placeholder."""

    __slots__ = ("values",)

    def __init__(self, values: Sequence[Any] = ()) -> None:
        self.values: list[Any] = list(values)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _json(value: Any) -> str | None:
    return None if value is None else snapshot(value)


def _value(params: Params, value: Any, cast: str, *, json: bool = False) -> str:
    if isinstance(value, Sql):
        return f"({value})::{cast}"
    return f"{params.add(_json(value) if json else value)}::{cast}"


_AUDIT_COLUMNS = """(occurred_at, actor_key_id, actor_role, actor_subject, actor_signed_in_as,
     action, entity_type, entity_id, before, after, request_id)"""


def _actor_columns(params: Params, actor: Actor) -> tuple[str, str, str, str, str]:
    """The actor's columns before the entry's own (its subject and who signed in as one), and
    the request id after them."""
    return (
        f"{params.add(actor.at)}::timestamptz",
        f"{params.add(actor.key_id)}::uuid",
        f"{params.add(actor.role)}::text",
        f"{params.add(actor.subject)}::text, {params.add(actor.signed_in_as)}::text",
        f"{params.add(actor.request_id)}::text",
    )


def _queued_audit(params: Params, actor: Actor, entries: Sequence[AuditEntry]) -> str:
    at, key_id, role, subject, request_id = _actor_columns(params, actor)
    return f"""INSERT INTO audit_events {_AUDIT_COLUMNS}
    SELECT {at}, {key_id}, {role}, {subject}, a.action, a.entity_type, a.entity_id,
           a.before::jsonb, a.after::jsonb, {request_id}
    FROM unnest({params.add([e.action for e in entries])}::text[],
                {params.add([e.entity_type for e in entries])}::text[],
                {params.add([str(e.entity_id) for e in entries])}::text[],
                {params.add([_json(e.before) for e in entries])}::text[],
                {params.add([_json(e.after) for e in entries])}::text[])
         AS a(action, entity_type, entity_id, before, after)"""


def _queued_events(params: Params, actor: Actor, events: Sequence[Event]) -> str:
    return f"""INSERT INTO outbox_events (id, type, occurred_at, district_code, data)
    SELECT e.id, e.type, {params.add(actor.at)}, e.district_code, e.data::jsonb
    FROM unnest({params.add([e.id for e in events])}::uuid[],
                {params.add([e.type for e in events])}::text[],
                {params.add([e.district_code for e in events])}::text[],
                {params.add([_json(e.data) for e in events])}::text[])
         AS e(id, type, district_code, data)"""


def _sourced_audit(params: Params, actor: Actor, entries: Sequence[AuditEntry], source: str) -> str:
    at, key_id, role, subject, request_id = _actor_columns(params, actor)
    rows = [
        f"""SELECT {at}, {key_id}, {role}, {subject}, {_value(params, e.action, "text")},
           {_value(params, e.entity_type, "text")}, {_value(params, e.entity_id, "text")},
           {_value(params, e.before, "jsonb", json=True)},
           {_value(params, e.after, "jsonb", json=True)}, {request_id}
    FROM {source}"""
        for e in entries
    ]
    return f"INSERT INTO audit_events {_AUDIT_COLUMNS}\n    " + "\n    UNION ALL ".join(rows)


def _sourced_events(params: Params, actor: Actor, events: Sequence[Event], source: str) -> str:
    at = f"{params.add(actor.at)}::timestamptz"
    rows = [
        f"""SELECT {_value(params, e.id, "uuid")}, {_value(params, e.type, "text")}, {at},
           {_value(params, e.district_code, "text")}, {_value(params, e.data, "jsonb", json=True)}
    FROM {source}"""
        for e in events
    ]
    return "INSERT INTO outbox_events (id, type, occurred_at, district_code, data)\n    " + (
        "\n    UNION ALL ".join(rows)
    )


def render(
    params: Params,
    actor: Actor,
    audit: Sequence[AuditEntry],
    events: Sequence[Event],
    *,
    source: str | None = None,
    name: str = "journal",
) -> list[str]:
    """The CTEs (``<name>_audit AS (…)``, ``<name>_events AS (…)``) that write ``audit`` and
    ``events``: once each when ``source`` is None (then no field may be ``Sql``), else once per
    row of ``source`` (a CTE name or any FROM item)."""
    entries: list[AuditEntry | Event] = [*audit, *events]
    if source is None and any(_has_sql(entry) for entry in entries):
        raise TypeError("an entry computed by SQL needs the statement's source rows")
    ctes = []
    if audit:
        body = (
            _queued_audit(params, actor, audit)
            if source is None
            else _sourced_audit(params, actor, audit, source)
        )
        ctes.append(f"{name}_audit AS (\n    {body}\n)")
    if events:
        body = (
            _queued_events(params, actor, events)
            if source is None
            else _sourced_events(params, actor, events, source)
        )
        ctes.append(f"{name}_events AS (\n    {body}\n)")
    return ctes


def _has_sql(entry: AuditEntry | Event) -> bool:
    if isinstance(entry, AuditEntry):
        values: tuple[Any, ...] = (
            entry.action,
            entry.entity_type,
            entry.entity_id,
            entry.before,
            entry.after,
        )
    else:
        values = (entry.type, entry.id, entry.data, entry.district_code)
    return any(isinstance(value, Sql) for value in values)


def with_clause(ctes: Sequence[str]) -> str:
    """``WITH a AS (…), b AS (…)`` or nothing."""
    return f"WITH {', '.join(ctes)}\n" if ctes else ""
