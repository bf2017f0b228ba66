"""Structured logs (structlog): key=value lines on a terminal, JSON lines otherwise.

Exception text is scrubbed before it is written: the engines hide SQL parameters
(service.db.make_engine), but the database repeats values in its own messages (PostgreSQL's
`DETAIL:  Key (email)=(...)`), and a validation error may quote the number it refused. Logs are
read by more people, and kept longer, than the contacts table."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SCRUBBED_KEYS = ("exception", "error")
"""Event keys that hold exception text (format_exc_info's `exception`, and `error=repr(exc)`)."""

STANDARD_LIBRARY_LOGGERS = ("uvicorn.error", "asyncio")
"""Where the standard library logs tracebacks: uvicorn re-logs an error Starlette re-raises after
its 500 reply; asyncio logs a task's unretrieved exception."""

_PATTERNS = (
    # SQLAlchemy's "[parameters: (...)]" line, whenever an engine was made without hiding them.
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: hidden]"),
    # PostgreSQL repeats the offending row's values: "DETAIL:  Key (id)=(...) already exists."
    (re.compile(r"(DETAIL:[ \t]*)[^\n]*"), r"\1(hidden)"),
    (re.compile(r"(Key \([^)\n]*\)=\()[^\n]*?(\) )"), r"\1hidden\2"),
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"), "[e-mail address]"),
    # International numbers, and UK ones written with a leading 0 (mobiles, landlines).
    (re.compile(r"\+\d[\d ]{8,16}\d"), "[phone number]"),
    (re.compile(r"(?<![\w.:-])0[1-37]\d{2,3} ?\d{3} ?\d{3,4}(?!\d)"), "[phone number]"),
)


def scrub(text: str) -> str:
    """Text with e-mail addresses, phone numbers and statement parameters replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in SCRUBBED_KEYS:
        value = event.get(key)
        if isinstance(value, str):
            event[key] = scrub(value)
    return event


class ScrubTracebacks(logging.Filter):
    """The same scrubbing for standard-library records: the traceback is formatted here, once,
    into `exc_text`, which every formatter then uses as is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        if record.args:
            record.msg, record.args = record.getMessage(), None
        record.msg = scrub(str(record.msg))
        return True


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """`stream`: where lines go (standard error unless a test reads them)."""
    stream = stream or sys.stderr
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if stream.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    for name in STANDARD_LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, ScrubTracebacks) for existing in logger.filters):
            logger.addFilter(ScrubTracebacks())
