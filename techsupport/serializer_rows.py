"""Many rows to exactly what a DRF output serializer makes of them, without its per-row cost.

`ModelSerializer(page, many=True).data` builds the serializer's fields on every request, loads a
model instance per row and walks every field through `get_attribute` / `to_representation`.
`SerializerRows(TicketOutput)` derives a plan from the serializer's own fields once per process —
the same field list, names and order, so a field added to the serializer appears here too — and
applies it to plain value tuples (`queryset.values_list(*rows.columns)`):

- a field whose source is one model column is converted by a specialised function of its field
  class (UUID → str, DateTimeField → DRF's format in the current time zone, ...) or, for any other
  class, by that field's own `to_representation`;
- a SerializerMethodField calls the serializer's method, on a serializer holding the caller's
  context, with a row object that has the model's columns as attributes and the model's own
  properties (`Ticket.clock_running`);
- None stays None, as DRF does before it calls `to_representation`.

A field with a dotted or `*` source (relations) is not supported: `SerializerRows` refuses it when
the plan is built, so such a serializer keeps the ordinary path. tests/techsupport compares the
output with the serializer's, byte for byte after rendering.

`row_json_sql` is the same plan as PostgreSQL SQL: one text per row, the row's JSON exactly as
DRF's JSONRenderer writes it (keys in order, compact, the same number and date formats, the same
string escapes but for U+2028/U+2029, which `json_text` adds). A page then costs PostgreSQL a few
microseconds a row and Python none: no row objects, no conversions, no encoder (the list's
CPU in process went from 1.0 to 0.7 ms, docs/benchmarks.md). A SerializerMethodField has a SQL form when
the serializer declares one in `sql_methods` (its twin, held to it by a test); a field without
one, or of a type not listed in `_sql_value`, leaves the serializer without `row_json_sql`.
"""

import json
import string
import threading
from collections import namedtuple
from datetime import UTC, datetime, timedelta

from django.db import models
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework.settings import api_settings

_DRF_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_ZERO = timedelta(0)


def _utc_text(value: datetime) -> str:
    """`value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")`, four times faster (isoformat
    always writes 6 fraction digits with timespec; strftime does not pad years below 1000)."""
    if value.tzinfo is not UTC and value.utcoffset() != _ZERO:
        value = value.astimezone(UTC)
    if value.year < 1000:
        return value.strftime(_DRF_UTC_FORMAT)
    if value.tzinfo is UTC:  # what the database driver gives: "...+00:00" becomes "...Z"
        return f"{value.isoformat(timespec='microseconds')[:-6]}Z"
    return f"{value.replace(tzinfo=None).isoformat(timespec='microseconds')}Z"


def _datetime(field):
    """DRF's DateTimeField output: `value.astimezone(current zone).strftime(format)`; marked
    `utc_text` when that is `_utc_text` while the current zone is UTC."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() == drf_fields.ISO_8601 or hasattr(field, "timezone"):
        return field.to_representation

    def convert(value):
        if isinstance(value, str):
            return value
        return value.astimezone(timezone.get_current_timezone()).strftime(output_format)

    convert.utc_text = output_format == _DRF_UTC_FORMAT
    return convert


def _zone_is_utc() -> bool:
    zone = timezone.get_current_timezone()
    return str(zone) == "UTC" and zone.utcoffset(None) == _ZERO


def _converter(field):
    """The field's `to_representation`, specialised where DRF's is a plain type conversion."""
    kind = type(field)
    if kind is drf_fields.UUIDField and field.uuid_format == "hex_verbose":
        return str
    if kind is drf_fields.DateTimeField:
        return _datetime(field)
    if kind is drf_fields.IntegerField:
        return int
    if kind is drf_fields.FloatField:
        return float
    if kind is drf_fields.CharField:
        return str
    return field.to_representation


def _row_class(model, columns: list[str]):
    """A namedtuple of the columns, with the model's own properties (they read columns only)."""
    base = namedtuple(f"{model.__name__}Row", columns)
    own = model.__mro__[: model.__mro__.index(models.Model)]
    extras = {
        name: value for klass in reversed(own) for name, value in vars(klass).items() if isinstance(value, property)
    }
    return type(base.__name__, (base,), {"__slots__": (), **extras})


# DRF's UTC text of a timestamptz (`_utc_text`): six fraction digits, the year unpadded below 1000
# as strftime writes it (FM), "Z".
_SQL_UTC_TEXT = """'"' || to_char({} AT TIME ZONE 'UTC', 'FMYYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'"""
# Python's repr of a float (json writes it): "5.0" where PostgreSQL writes "5". Below 1e15 both
# write the same shortest digits; from 1e15 on the notation or the digits may differ, and NaN and
# the infinities are not JSON (DRF refuses them). Such a value is not written by PostgreSQL: its
# row's text is NULL and the page takes the Python rows (`_SQL_FLOAT_EXACT`).
_SQL_FLOAT_TEXT = "CASE WHEN {0} = trunc({0}) THEN {0}::text || '.0' ELSE {0}::text END"
_SQL_FLOAT_EXACT = "abs({0}) < 1e15"  # false for NaN (above every number in PostgreSQL)
_SQL_TEXT_TYPES = {
    drf_fields.UUIDField: ("UUIDField",),
    drf_fields.DateTimeField: ("DateTimeField",),
    drf_fields.IntegerField: (
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
    ),
    drf_fields.FloatField: ("FloatField",),
    drf_fields.CharField: ("CharField", "TextField"),
    drf_fields.ChoiceField: ("CharField", "TextField"),
}


def _sql_value(field, model_field, column: str) -> tuple[str, str | None] | None:
    """(SQL of the JSON text DRF writes for this field's value, NULL for NULL; the condition a
    non-NULL value must meet for that text to be DRF's, or None), or None."""
    kind = type(field)
    stored = model_field.target_field if model_field.is_relation else model_field
    if stored.get_internal_type() not in _SQL_TEXT_TYPES.get(kind, ()):
        return None
    if kind is drf_fields.UUIDField:
        return (f"""'"' || {column}::text || '"'""", None) if field.uuid_format == "hex_verbose" else None
    if kind is drf_fields.DateTimeField:
        convert = _datetime(field)
        return (_SQL_UTC_TEXT.format(column), None) if getattr(convert, "utc_text", False) else None
    if kind is drf_fields.IntegerField:
        return f"{column}::text", None
    if kind is drf_fields.FloatField:
        return _SQL_FLOAT_TEXT.format(column), _SQL_FLOAT_EXACT.format(column)
    if kind is drf_fields.ChoiceField and not all(isinstance(key, str) for key in field.choices):
        return None  # with text keys it writes the stored text as it is
    return f"to_json({column}::text)::text", None


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_text(rows_json: list[str], **fields) -> str:
    """`{"data": [rows...], **fields}` as DRF's JSONRenderer writes it, from rows already JSON
    text (`row_json_sql`) and fields of ints: compact, and U+2028/U+2029 escaped."""
    tail = "".join(f',"{name}":{int(value)}' for name, value in fields.items())
    text = '{"data":[' + ",".join(rows_json) + "]" + tail + "}"
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


class SerializerRows:
    """The plan of one output serializer class, built on first use (models must be loaded)."""

    def __init__(self, serializer_class):
        self.serializer_class = serializer_class
        self._lock = threading.Lock()
        self._plan = None
        self._json_sql = {}

    def _build(self):
        model = self.serializer_class.Meta.model
        columns = [field.attname for field in model._meta.concrete_fields]
        # A source may name a field or its column (`client` or `client_id`); a relation's
        # field name would be the related object, not supported.
        names = {field.attname: field.attname for field in model._meta.concrete_fields}
        names.update({f.name: f.attname for f in model._meta.concrete_fields if not f.is_relation})
        steps = []
        for name, field in self.serializer_class().fields.items():
            if field.write_only:
                continue
            if isinstance(field, drf_fields.SerializerMethodField):
                steps.append((name, None, field.method_name))
                continue
            if len(field.source_attrs) != 1 or field.source_attrs[0] not in names:
                raise ValueError(f"{self.serializer_class.__name__}.{name}: only single-column sources are supported")
            steps.append((name, columns.index(names[field.source_attrs[0]]), _converter(field)))
        return columns, _row_class(model, columns), steps

    @property
    def plan(self):
        if self._plan is None:
            with self._lock:
                if self._plan is None:
                    self._plan = self._build()
        return self._plan

    @property
    def columns(self) -> list[str]:
        """The model columns to select, in the order `data` expects them."""
        return self.plan[0]

    def row_json_sql(self, table: str) -> tuple[str, tuple[str, ...]] | None:
        """(SQL of a row's JSON text, the context keys its %s placeholders take in order), for the
        model's columns in `table` (an alias); None when a field has no SQL form or the current
        time zone is not UTC (PostgreSQL writes the UTC text only). The text is NULL for a row
        PostgreSQL cannot write as DRF would (a float past 1e15, NaN): write those in Python."""
        if not _zone_is_utc():
            return None
        kept = self._json_sql.get(table, False)
        if kept is False:
            kept = self._json_sql_template()
            if kept is not None:
                template, keys = kept
                model = self.serializer_class.Meta.model
                columns = {f.attname: f'{table}."{f.column}"' for f in model._meta.concrete_fields}
                kept = template.format(**columns, **dict.fromkeys(keys, "%s")), keys
            self._json_sql[table] = kept
        return kept

    def _json_sql_template(self) -> tuple[str, tuple[str, ...]] | None:
        """The row's JSON as a template of `{attname}` columns and `{key}` context values."""
        model = self.serializer_class.Meta.model
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        by_attname.update({f.name: f for f in model._meta.concrete_fields if not f.is_relation})
        methods = getattr(self.serializer_class, "sql_methods", {})
        parts, keys, conditions = [], [], []
        for name, field in self.serializer_class().fields.items():
            if field.write_only:
                continue
            if isinstance(field, drf_fields.SerializerMethodField):
                value = methods.get(field.method_name)
                if value is None:
                    return None
                keys += [key for _, key, _, _ in string.Formatter().parse(value) if key and key not in by_attname]
            else:
                model_field = by_attname[field.source_attrs[0]]
                column = "{" + model_field.attname + "}"
                sql = _sql_value(field, model_field, column)
                if sql is None:
                    return None
                value, exact = sql
                value = f"COALESCE({value}, 'null')" if model_field.null else value
                if exact is not None:
                    conditions.append(f"({column} IS NULL OR {exact})" if model_field.null else exact)
            parts += [("," if parts else "{") + json.dumps(name) + ":", value]
        # One concat() call: a chain of || copies the growing text at every step (2.6 vs 1.6 µs a
        # row). Braces doubled: the text is a template.
        literals = [_sql_literal(part).replace("{", "{{").replace("}", "}}") for part in parts[::2]]
        values = parts[1::2]
        arguments = [item for pair in zip(literals, values, strict=True) for item in pair]
        row = f"concat({', '.join(arguments)}, '}}}}')"
        if conditions:  # NULL: PostgreSQL cannot write this row as DRF would
            row = f"CASE WHEN {' AND '.join(conditions)} THEN {row} END"
        return row, tuple(keys)

    def data(self, rows, context: dict | None = None) -> list[dict]:
        """What `serializer_class(objects, many=True, context=context).data` holds, for the value
        tuples `rows` of the same objects."""
        _, row_class, steps = self.plan
        serializer = self.serializer_class(context=context or {})
        utc = _zone_is_utc()
        bound = []
        for name, index, convert in steps:
            if index is None:
                bound.append((name, None, getattr(serializer, convert)))
            else:
                bound.append((name, index, _utc_text if utc and getattr(convert, "utc_text", False) else convert))
        out = []
        for values in rows:
            row = row_class._make(values)
            item = {}
            for name, index, convert in bound:
                if index is None:
                    item[name] = convert(row)
                else:
                    value = values[index]
                    item[name] = None if value is None else convert(value)
            out.append(item)
        return out
