"""The API's field names, in one place: serializers declare fields (and `Meta.fields`) in Python's
snake_case, and the wire — JSON keys in and out, validation error details, the OpenAPI schema —
uses the contract's camelCase (`client_id` ↔ `clientId`; a trailing underscore makes a keyword
usable: `from_` ↔ `from`). One mapping instead of a `# noqa` per camelCase attribute, and no
per-response key rewriting: the names are set once per serializer instance."""

from rest_framework import serializers


def camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class CamelCaseFields:
    """Mixin for a DRF serializer: snake_case fields, camelCase wire names."""

    def get_fields(self):
        fields = {}
        for name, field in super().get_fields().items():
            wire = camel(name)
            if wire != name:
                if field.source is None:
                    field.source = name  # DRF would take the wire name as the attribute
                if isinstance(field, serializers.SerializerMethodField) and field.method_name is None:
                    field.method_name = f"get_{name}"
            fields[wire] = field
        return fields


class Serializer(CamelCaseFields, serializers.Serializer):
    pass


class ModelSerializer(CamelCaseFields, serializers.ModelSerializer):
    pass
