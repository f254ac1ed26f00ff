"""One page of a queryset and its count, bounded, in one PostgreSQL statement.

A list request used to cost three compiled queries and two round trips for the count and the
page, plus the planner's estimate for long lists. Here the queryset is compiled once; the count
(under LIMIT bound + 1, so it reads at most that many index entries: PostgreSQL drops the unused
columns of the counted subquery and scans the index alone) and the page travel in one statement:

    SELECT bounded.n, page.* FROM (SELECT count(*) FROM (<query> LIMIT bound + 1)) AS bounded
    LEFT JOIN LATERAL (<query> LIMIT size OFFSET start) AS page ON true

Timestamps are read with psycopg's compiled loader (Django's own timestamptz loader is pure
Python, ~5 µs a value: a fifth of a 20-row page's client time). The planner's estimate for
counts past the bound is kept per process for ESTIMATE_SECONDS (it is an estimate anyway).
"""

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.db import DatabaseError, connections

ESTIMATE_SECONDS = 30
PAGE = "page"  # the page's alias in the statement: `row_json` names its columns with it
_ESTIMATES_MAX = 512
_estimates: dict = {}
_estimates_lock = threading.Lock()


def _timestamptz_loader():
    """psycopg's fastest loader of timestamptz text (the C one when psycopg-binary is there)."""
    oid = psycopg.postgres.types["timestamptz"].oid
    return psycopg.adapters.get_loader(oid, psycopg.pq.Format.TEXT)


_TIMESTAMPTZ_LOADER = _timestamptz_loader()


@dataclass(frozen=True)
class BoundedPage:
    rows: list[tuple]
    seen: int  # min(count, bound + 1)
    sql: str  # the compiled id query, for `planner_rows`
    params: tuple


_row_queries: dict = {}


def _rows_by_id_sql(queryset, columns: list[str]) -> tuple[str, str] | None:
    """("SELECT <columns> FROM <table>", " ORDER BY <the queryset's order>") compiled once per
    model, columns and ordering; None when the compiled text is not of that plain shape, the
    first column is not the primary key, or the columns need Django's converters."""
    key = (queryset.model, tuple(columns), tuple(queryset.query.order_by), queryset.db)
    if key not in _row_queries:
        plain = queryset.model._base_manager.order_by(*queryset.query.order_by).values_list(*columns)
        compiler = plain.query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        head, _, order = sql.partition(" ORDER BY ")
        plain_shape = not params and sql.startswith("SELECT ") and order and " ORDER BY " not in order
        first_is_pk = columns[0] == queryset.model._meta.pk.attname
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        _row_queries[key] = (head, f" ORDER BY {order}") if plain_shape and first_is_pk and not converters else None
    return _row_queries[key]


_LIMIT_MARK = 987_654_321  # compiled once per branch, then replaced by each limit


def _ids_sql(branches: list) -> tuple | None:
    """(f(limit) -> SQL of the ordered ids, at least the first `limit` of them; params). One
    queryset: its own SQL. Several disjoint ones: the first branch's first `limit` ids in order
    (an index walk that stops there) and the whole of the others, which must be small — each
    fenced (OFFSET 0) so that PostgreSQL plans it alone: a misjudged small branch (the
    not-yet-swept breaches, estimated at tens of thousands, a few hundred in fact) was otherwise
    merged in order by walking the whole table — and a UNION ALL sorted again."""
    if len(branches) == 1:
        sql, params = branches[0].values_list("pk").query.sql_with_params()
        return (lambda limit: sql), list(params)
    ordering = list(branches[0].query.order_by)
    if not all(isinstance(item, str) and item.lstrip("-").isidentifier() for item in ordering):
        return None
    names = [item.lstrip("-") for item in ordering]
    first_sql, params = branches[0].values_list("pk", *names)[:_LIMIT_MARK].query.sql_with_params()
    if first_sql.count(f"LIMIT {_LIMIT_MARK}") != 1:
        return None
    parts, params = [f"({first_sql})"], list(params)
    for branch in branches[1:]:
        sql, branch_params = branch.order_by().values_list("pk", *names).query.sql_with_params()
        parts.append(f"({sql} OFFSET 0)")
        params.extend(branch_params)
    union = " UNION ALL ".join(parts)
    keys = ", ".join(f"k{n}" for n in range(len(names) + 1))
    order = ", ".join(f"k{n + 1}{' DESC' if item.startswith('-') else ''}" for n, item in enumerate(ordering))
    template = f"SELECT k0 FROM ({union}) AS branches({keys}) ORDER BY {order}"  # noqa: S608
    return (lambda limit: template.replace(f"LIMIT {_LIMIT_MARK}", f"LIMIT {int(limit)}")), params


@dataclass(frozen=True)
class CompiledBranches:
    """The SQL of a list's rows by id and of its ordered ids; `ids(limit)` is the ids' SQL."""

    rows_head: str
    rows_order: str
    pk: str  # "table"."column"
    ids: Callable[[int], str]
    ids_template: str  # ids(_LIMIT_MARK): compares compilations
    params: tuple
    db: str
    reusable: bool = False  # the same text and values on every request: worth a prepared statement
    clock_at: tuple[int, ...] = ()  # the positions in `params` that hold the request's instant

    @property
    def pk_column(self) -> str:
        return self.pk.rpartition(".")[2]

    def at(self, now: datetime) -> "CompiledBranches":
        """The same statement for the instant `now` (only the clock's parameters change)."""
        if not self.clock_at:
            return self
        params = list(self.params)
        for position in self.clock_at:
            params[position] = now
        return dataclasses.replace(self, params=tuple(params))


def compile_branches(branches: list, columns: list[str]) -> CompiledBranches | None:
    """Compiles the union of the disjoint querysets `branches` (all of one model and order) for
    `page_and_count`; None when it does not fit (the caller then takes the ORM path)."""
    first = branches[0]
    rows_sql = _rows_by_id_sql(first, columns)
    ids = _ids_sql(branches)
    if rows_sql is None or ids is None:
        return None
    quote = connections[first.db].ops.quote_name
    pk = f"{quote(first.model._meta.db_table)}.{quote(first.model._meta.pk.column)}"
    ids_sql, params = ids
    return CompiledBranches(*rows_sql, pk, ids_sql, ids_sql(_LIMIT_MARK), tuple(params), first.db)


_CLOCKED = object()


def _clock_positions(first: CompiledBranches, second: CompiledBranches, now: datetime, later: datetime):
    """The parameter positions where the two compilations (at `now` and `later`) differ, when
    their text is the same and they differ only by holding those instants; else None."""
    if second.ids_template != first.ids_template or len(second.params) != len(first.params):
        return None
    positions = tuple(n for n, (a, b) in enumerate(zip(first.params, second.params, strict=True)) if a != b)
    if all(first.params[n] == now and second.params[n] == later for n in positions):
        return positions
    return None


class CompiledLists:
    """Compilations kept per caller key (e.g. a list's validated filters): a miss compiles the
    branches for two instants one second apart. When both are the same text and parameters the
    compilation is kept as it is (and its statement may be prepared); when they differ only by
    parameters holding the instant itself (`slaBreached`: `sla_due_at < now`), it is kept with
    those positions, filled with each request's instant; otherwise every request compiles."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._kept: dict = {}

    def get(self, key, branches_at: Callable, now: datetime, columns: list[str]) -> CompiledBranches | None:
        kept = self._kept.get(key)
        if kept is not None and kept is not _CLOCKED:
            return kept.at(now)
        compiled = compile_branches(branches_at(now), columns)
        if compiled is None or kept is _CLOCKED:
            return compiled
        later = now + timedelta(seconds=1)
        other = compile_branches(branches_at(later), columns)
        positions = None if other is None else _clock_positions(compiled, other, now, later)
        if len(self._kept) >= self.size:
            self._kept.clear()
        if positions is not None:
            compiled = dataclasses.replace(compiled, reusable=not positions, clock_at=positions)
        # A key whose SQL depends on the clock otherwise is remembered too, so it is not
        # compiled twice again.
        self._kept[key] = _CLOCKED if positions is None else compiled
        return compiled


def _page_from(compiled: CompiledBranches, start: int, size: int, bound: int) -> str:
    counted, paged = compiled.ids(bound + 1), compiled.ids(start + size)
    return (
        f"(SELECT count(*) AS n FROM ({counted} LIMIT {int(bound) + 1}) AS counted) "  # noqa: S608
        f"AS bounded LEFT JOIN LATERAL ({compiled.rows_head} WHERE {compiled.pk} IN "
        f"({paged} LIMIT {int(size)} OFFSET {int(start)}){compiled.rows_order}) AS {PAGE} ON true"
    )


def page_statement(compiled: CompiledBranches, start: int, size: int, bound: int) -> tuple[str, tuple]:
    """The one statement of `page_and_count` (its rows as columns) and its parameters."""
    statement = f"SELECT bounded.n, {PAGE}.* FROM {_page_from(compiled, start, size, bound)}"  # noqa: S608
    return statement, compiled.params * 2


# Prepared list statements kept per session: ~170 kB of PostgreSQL memory each (measured in
# pg_backend_memory_contexts), so ~3.4 MB per session at this bound.
PREPARED_PER_SESSION = 20
# The session lost a prepared statement's plan: another session changed a column's type under it
# ("cached plan must not change result type"), or the statement is gone.
_PLAN_GONE = (psycopg.errors.FeatureNotSupported, psycopg.errors.InvalidSqlStatementName)


class _PreparingCursor(psycopg.Cursor):
    """Prepares a statement the second time the session runs it (psycopg counts them; it keeps
    the last `prepared_max` per session, least recently used out, and deallocates them itself),
    so a page asked for once costs no extra round trip. Django turns psycopg's preparing off
    (`prepare_threshold` None: nothing is counted or prepared); it is on for this cursor's
    statements only."""

    def execute(self, query, params=None, **kwargs):
        session = self.connection
        session.prepared_max = PREPARED_PER_SESSION
        threshold, session.prepare_threshold = session.prepare_threshold, 1
        try:
            return super().execute(query, params, **kwargs)
        finally:
            session.prepare_threshold = threshold


def _prepared_cursor(connection):
    """A cursor of Django's session (its query log and error wrapping) whose repeated statements
    are prepared: a page's statement is the same text on every request of that page, and
    PostgreSQL plans it in about as much CPU as it takes to run (0.35 of 0.67 ms for
    `status=OPEN`, page 1, at 1M tickets). Statements go with their values inlined (no
    parameters): the plan is the one for exactly these values, never a generic one. psycopg
    forgets them all when the session rolls a transaction back."""
    return connection._prepare_cursor(_PreparingCursor(connection.connection))


_CLOCK = "\x00clock\x00"  # marks an instant that stays a parameter (no SQL literal holds NUL)
_INLINED_MAX = 1024
_inlined_texts: dict = {}


def _inlined(connection, compiled: CompiledBranches, from_: str) -> tuple[str, tuple[int, ...]]:
    """`from_` with its values inlined as literals, except the instants at `compiled.clock_at`,
    left as %s placeholders (every other % doubled), and their positions in the FROM's values.
    The text is the same on every request of a page: kept per text and values."""
    params = compiled.params * 2
    count = len(compiled.params)
    clock = tuple(n for n in range(len(params)) if n % count in compiled.clock_at)
    # Typed: 1, 1.0, True and Decimal(1) are equal keys but different literals.
    key = (from_, tuple(None if n in clock else (type(value), value) for n, value in enumerate(params)))
    try:
        kept = _inlined_texts.get(key)
    except TypeError:  # a value that is not hashable: not kept
        kept = key = None
    if kept is None:
        cursor = psycopg.ClientCursor(connection.connection)
        literals = tuple(_CLOCK if n in clock else cursor.mogrify("%s", [value]) for n, value in enumerate(params))
        kept = ((from_ % literals).replace("%", "%%").replace(_CLOCK, "%s"), clock)
        if key is not None:
            if len(_inlined_texts) >= _INLINED_MAX:
                _inlined_texts.clear()
            _inlined_texts[key] = kept
    return kept


def _page_rows(connection, compiled: CompiledBranches, select: str, select_params: tuple, from_: str) -> list[tuple]:
    """`SELECT <select> FROM <from_>`: `select_params` fill the select list's placeholders and
    `compiled.params` (twice) the FROM's. Both texts are compiled SQL; values are parameters."""
    from_params = compiled.params * 2
    if compiled.reusable or compiled.clock_at:
        connection.ensure_connection()  # the first statement of a new session, or after a drop
        # The FROM's values inlined but the request's instants, which stay parameters with the
        # select list's: the text is the same on every request of this page.
        inlined, clock = _inlined(connection, compiled, from_)
        params = (*select_params, *(from_params[n] for n in clock))
        try:
            with _prepared_cursor(connection) as cursor:
                cursor.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
                cursor.execute(f"SELECT {select} FROM {inlined}", params)  # noqa: S608
                return cursor.fetchall()
        except DatabaseError as exc:
            if not isinstance(exc.__cause__, _PLAN_GONE) or connection.in_atomic_block:
                raise
            # psycopg would keep the broken statement for the session's life: a new session.
            connection.close()
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
        cursor.execute(f"SELECT {select} FROM {from_}", (*select_params, *from_params))  # noqa: S608
        return cursor.fetchall()


def page_and_count(compiled: CompiledBranches, start: int, size: int, bound: int) -> BoundedPage:
    """The rows in [start, start + size) and the count up to bound + 1, in one statement.

    Deep pages walk the offset over ids only (a "deferred join"): with an index that holds the
    filter's columns and the order, the walk is an index-only scan, and only the page's rows are
    read from the table."""
    connection = connections[compiled.db]
    result = _page_rows(connection, compiled, f"bounded.n, {PAGE}.*", (), _page_from(compiled, start, size, bound))
    # A page past the end is the count's row joined to NULLs; a real row's first column (the
    # primary key) is never NULL. The estimate (`planner_rows`) is of the unlimited ids.
    rows = [row[1:] for row in result if row[1] is not None]
    return BoundedPage(rows, result[0][0], compiled.ids(2**62), compiled.params)


def page_and_count_json(
    compiled: CompiledBranches, start: int, size: int, bound: int, row_json: tuple[str, tuple], context: dict
) -> BoundedPage | None:
    """`page_and_count` with each row as its JSON text: `row_json` is that SQL over the columns of
    PAGE and the context keys of its placeholders (`SerializerRows.row_json_sql(PAGE)`). None
    when a row's text is NULL (the SQL cannot write it)."""
    sql, keys = row_json
    select = f"bounded.n, {PAGE}.{compiled.pk_column} IS NOT NULL, {sql}"
    params = tuple(context[key] for key in keys)
    result = _page_rows(connections[compiled.db], compiled, select, params, _page_from(compiled, start, size, bound))
    rows = [row[2] for row in result if row[1]]
    if None in rows:  # a row the SQL cannot write: the caller writes the page in Python
        return None
    return BoundedPage(rows, result[0][0], compiled.ids(2**62), compiled.params)


def _estimate_key(sql: str, params) -> tuple:
    # `now` in a filter changes every request; to the minute is close enough for an estimate.
    return (sql, *(p.replace(second=0, microsecond=0) if isinstance(p, datetime) else p for p in params))


def planner_rows(sql: str, params: tuple, using: str) -> int:
    """PostgreSQL's estimate of the rows the query returns (EXPLAIN: planning only, no scan),
    kept for ESTIMATE_SECONDS per query and parameters."""
    key = _estimate_key(sql, params)
    now = time.monotonic()
    cached = _estimates.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    with connections[using].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    rows = int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
    with _estimates_lock:
        if len(_estimates) >= _ESTIMATES_MAX:
            _estimates.clear()
        _estimates[key] = (now + ESTIMATE_SECONDS, rows)
    return rows
