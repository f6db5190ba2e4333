"""Each table is written only by its own domain's repository (docs/architecture.md, Domains).

Every SQL text in app/ is read for the tables it inserts into, updates or deletes from, and
each such write must stand in a module of the table's owner that holds SQL for it.
"""

import ast
import re
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# The table's owning package, and the modules of it that may write it.
OWNERS: dict[str, tuple[str, ...]] = {
    "api_keys": ("keys/repository.py",),
    "applications": ("applications/repository/",),
    "application_assets": ("applications/repository/",),
    "approval_clocks": ("applications/repository/",),
    "application_quotes": ("pricing/repository.py",),
    "lpr_fixings": ("pricing/repository.py",),
    "audit_events": ("core/journal.py",),
    # Appended by the journal alone; the relay marks events dispatched and retention purges
    # them (the webhooks repository and its delivery queue).
    "outbox_events": ("core/journal.py", "webhooks/queue.py", "webhooks/repository.py"),
    "idempotency_records": ("core/outbox.py", "core/idempotency.py"),
    "calendar_days": ("calendar/repository.py",),
    "calendar_years": ("calendar/repository.py",),
    "calendar_state": ("calendar/repository.py",),
    "enterprises": ("enterprises/repository.py",),
    "ip_assets": ("ip_assets/repository.py",),
    "ip_asset_valuations": ("ip_assets/repository.py",),
    "loans": ("loans/repository/",),
    "loan_installments": ("loans/repository/",),
    "loan_repayments": ("loans/repository/",),
    "pledges": ("pledges/repository.py",),
    "pools": ("pools/repository.py",),
    "pool_loans": ("pools/repository.py", "pools/tape_repository.py"),
    "pool_schedules": ("pools/projection/repository.py",),
    "pool_projections": ("pools/projection/repository.py",),
    "subsidy_programs": ("subsidies/repository.py",),
    "subsidy_claims": ("subsidies/repository.py",),
    "webhook_endpoints": ("webhooks/repository.py",),
    "webhook_deliveries": ("webhooks/repository.py", "webhooks/queue.py"),
    "webhook_attempts": ("webhooks/repository.py", "webhooks/queue.py"),
}

_WRITE = re.compile(r"\b(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+([a-z_]+)", re.IGNORECASE)
# ``FOR UPDATE [OF t] [SKIP LOCKED]`` and ``ON CONFLICT … DO UPDATE SET`` lock or upsert the
# table the statement already names.
_NOT_A_TARGET = re.compile(r"(?:FOR|DO)\s*$", re.IGNORECASE)


def _writes() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        module = str(path.relative_to(APP))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) in docstrings:
                continue
            text = node.value
            for match in _WRITE.finditer(text):
                if _NOT_A_TARGET.search(text[: match.start()]):
                    continue
                table = match.group(1).lower()
                if table == "set":
                    continue
                found[table].add(module)
    return found


def test_every_written_table_has_an_owner():
    assert set(_writes()) <= set(OWNERS)


def test_each_table_is_written_only_by_its_owner():
    strays = {
        table: sorted(m for m in modules if not m.startswith(OWNERS.get(table, ())))
        for table, modules in _writes().items()
    }
    assert {table: modules for table, modules in strays.items() if modules} == {}
