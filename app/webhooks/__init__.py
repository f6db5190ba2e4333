"""Signed webhooks: endpoints, the outbox relay that delivers events to them, and their
delivery history. The relay is one of ``ipledge worker``'s loops (``app.worker``); the webhook
gauges are registered with the worker's /metrics by ``app.ops.gauges.register``."""
