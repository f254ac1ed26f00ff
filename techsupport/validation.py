"""Parsing of path and query values shared by every app; failures are 400 in the error shape."""

import re
import uuid
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from techsupport.error_codes import ErrorCode
from techsupport.exceptions import ValidationFailed


def parse_uuid(value: str, name: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ValidationFailed(
            f"'{name}' must be a UUID.", code=ErrorCode.INVALID_ID, details={name: "Must be a UUID."}
        ) from exc


def parse_instant(value: str, name: str, *, end_of_day: bool = False) -> datetime:
    """ISO-8601 date or date-time → aware UTC datetime. A bare date means its first instant
    (or, with `end_of_day`, its last), so that both bounds of a range are inclusive.

    An instant outside what a UTC datetime can hold (`9999-12-31T23:00:00-05:00` is in year
    10000 in UTC, `0001-01-01T00:00:00+05:00` before year 1) is a 400, like any bad value."""
    text = (value or "").strip()
    parsed = None
    try:
        # A bare date first: parse_datetime accepts one too, as midnight, losing `end_of_day`.
        day = parse_date(text)
        if day is not None:
            parsed = datetime(day.year, day.month, day.day)
            if end_of_day:
                parsed = parsed + timedelta(days=1, microseconds=-1)
        else:
            parsed = parse_datetime(text.replace("z", "Z"))
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationFailed(details={name: "Must be an ISO-8601 date or date-time."})
    try:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationFailed(details={name: "Must be an instant between 0001-01-01 and 9999-12-31 in UTC."}) from exc


def parse_range(params, *, from_key: str = "from", to_key: str = "to") -> tuple[datetime | None, datetime | None]:
    """Inclusive (from, to) from query params; `from` after `to` is a 400."""
    start = parse_instant(params[from_key], from_key) if params.get(from_key) else None
    end = parse_instant(params[to_key], to_key, end_of_day=True) if params.get(to_key) else None
    if start and end and start > end:
        raise ValidationFailed("'from' must not be after 'to'.", details={from_key: "Must not be after 'to'."})
    return start, end


_STRONG_ETAG = re.compile(r'"(\d{1,10})"')


def parse_if_match(value: str | None) -> int | None:
    """The version an `If-Match` header names — one strong entity tag of digits, as the ETag
    of a ticket response (`"7"`) — or None when the header is absent or `*` (any version).
    Anything else is a 400: a precondition the server cannot evaluate must not be ignored."""
    if value is None or value.strip() == "*":
        return None
    match = _STRONG_ETAG.fullmatch(value.strip())
    if match is None:
        raise ValidationFailed(
            "'If-Match' must be the ticket's ETag, as a ticket response sends it.",
            code=ErrorCode.INVALID_PRECONDITION,
            details={"If-Match": 'One strong entity tag such as "7", or *.'},
        )
    return int(match.group(1))
