"""Signed webhooks: endpoints, the outbox relay that delivers events to them, and their
delivery history. Importing the package registers the relay with ``ipledge worker`` and the
webhook gauges with /metrics."""

from app.webhooks import metrics as _metrics  # noqa: F401 - registers the gauges
from app.webhooks import relay as _relay  # noqa: F401 - registers the relay loop
