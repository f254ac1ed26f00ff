"""The API's JSON parser: DRF's, plus the refusals that keep an unusable document out of every
view (DEFAULT_PARSER_CLASSES, so each endpoint gets them without asking).

A JSON document can be valid for `json.loads` and still be unusable: nested deeper than the
interpreter's recursion limit (RecursionError while parsing), nested deep enough that later
recursive code (validation, error flattening, logging) would hit it, or holding a lone UTF-16
surrogate (`"\\ud800"`), which is no character at all and cannot be encoded as UTF-8 — the
database driver, the logger and the JSON renderer all fail on it. Each is a 400
`malformed_request`, whatever field it hides in.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any request of this API needs (its bodies are flat objects), far below the
# interpreter's recursion limit.
MAX_JSON_DEPTH = 32


def _unusable(document) -> str | None:
    """Why the parsed document cannot be used, or None. Iterative: the walk itself must not
    recurse over a hostile depth."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "The document contains an invalid character (a lone UTF-16 surrogate)."
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"The document is nested deeper than {MAX_JSON_DEPTH} levels."
            items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
            for key, item in items:
                stack.append((item, depth + 1))
                if key is not None:
                    stack.append((key, depth))
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from exc
        reason = _unusable(document)
        if reason is not None:
            raise ParseError(f"JSON parse error - {reason}")
        return document
