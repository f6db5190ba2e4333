"""Building a WHERE clause from the filters a caller actually sent, so that each combination
gets its own plan (a catch-all ``$1 IS NULL OR …`` defeats the indexes once the plan is
generic)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


class Filters:
    def __init__(self, *args: Any) -> None:
        self.args: list[Any] = list(args)
        self._clauses: list[str] = []

    def param(self, value: Any) -> str:
        """A placeholder bound to ``value``."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str, *values: Any) -> Filters:
        """``clause`` with ``{}`` for each value, e.g. ``add("state = {}", "draft")``."""
        placeholders = [self.param(v) for v in values]
        self._clauses.append(clause.format(*placeholders))
        return self

    def when(self, value: Any, clause: str) -> Filters:
        """Add ``clause`` only when the caller sent ``value``."""
        if value is not None:
            self.add(clause, value)
        return self

    def where(self) -> str:
        return ("WHERE " + " AND ".join(self._clauses)) if self._clauses else ""


@lru_cache(maxsize=256)
def shift_params(sql: str, offset: int) -> str:
    """Renumber ``$n`` placeholders to ``$(n + offset)``, to place a fragment built on its own
    (such as ``outbox.fold``) after a statement's own parameters. Fragments come in few shapes,
    so each is renumbered once."""
    if not offset:
        return sql
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + offset}", sql)
