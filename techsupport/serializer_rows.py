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
"""

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


class SerializerRows:
    """The plan of one output serializer class, built on first use (models must be loaded)."""

    def __init__(self, serializer_class):
        self.serializer_class = serializer_class
        self._lock = threading.Lock()
        self._plan = None

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
