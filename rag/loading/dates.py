"""Dates as written by people ("March 3, 2021", "3 Mar 2021", "2021-03-03T10:00Z") read as ISO days.

Date filters compare ISO ``YYYY-MM-DD`` strings, so a date kept as written drops out of every
``--from``/``--to`` range. A date is read only when the text names one day for certain: no part
of it may be guessed (``March 2021`` has no day) and it may not read two ways (``03/04/2021``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from dateutil import parser as date_parser

log = logging.getLogger(__name__)

# Two defaults that differ in every field: a field the text leaves out shows as a difference.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))


def parse_day(text: str) -> str | None:
    """The one day ``text`` names, as ``YYYY-MM-DD``; None when it names none, only part of one, or two."""
    if not text.strip():
        return None
    readings = set()
    for default in _DEFAULTS:
        for dayfirst in (False, True):
            try:
                readings.add(date_parser.parse(text, default=default, dayfirst=dayfirst).date())
            except (ValueError, OverflowError):
                return None
    return readings.pop().isoformat() if len(readings) == 1 else None


def document_date(value: object, where: str) -> str:
    """A document's ``date`` metadata as an ISO day; when it cannot be read, as written, with a warning."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if day := parse_day(text):
        return day
    log.warning("%s: date %r is not one day this can read, kept as written; date filters (--from/--to) will "
                "not match it. Write it as YYYY-MM-DD.", where, text)
    return text
