"""Time axes of the dashboard's charts: every month or week between the first and the last one
with data, the empty ones included (a gap shows as a gap), and at most the latest `limit` of
them (a wide date range stays a readable chart; the API and exports keep every row)."""

from datetime import date, timedelta


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def months_axis(counts: dict[tuple[int, int], int], limit: int) -> tuple[list[tuple[int, int, int]], int]:
    """(year, month, count) from the first to the last month of `counts`, zeros in between, the
    latest `limit` of them; and how many earlier months were left out."""
    if not counts:
        return [], 0
    first = min(_month_index(*key) for key in counts)
    last = max(_month_index(*key) for key in counts)
    start = max(first, last - limit + 1)
    axis = []
    for index in range(start, last + 1):
        year, month = divmod(index, 12)
        axis.append((year, month + 1, counts.get((year, month + 1), 0)))
    return axis, start - first


def weeks_axis(groups: dict[str, dict[str, int]], limit: int) -> tuple[dict[str, dict[str, int]], int]:
    """Mondays (YYYY-MM-DD) from the first to the last week of `groups`, empty weeks as {}, the
    latest `limit` of them; and how many earlier weeks were left out."""
    if not groups:
        return {}, 0
    mondays = sorted(date.fromisoformat(key) for key in groups)
    first, last = mondays[0], mondays[-1]
    span = (last - first).days // 7 + 1
    start = max(first, last - timedelta(weeks=limit - 1))
    axis = {}
    week = start
    while week <= last:
        axis[week.isoformat()] = groups.get(week.isoformat(), {})
        week += timedelta(weeks=1)
    return axis, span - len(axis)
