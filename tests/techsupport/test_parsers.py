"""The API's JSON parser refuses documents the rest of the stack cannot handle, on every
endpoint, anonymous ones included (techsupport/parsers.py).

Was: a deeply nested body on /api/auth/login or /api/auth/refresh raised RecursionError (500);
a lone surrogate in the login email reached the database driver (UnicodeEncodeError, 500)."""

import json

import pytest

from techsupport.parsers import MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db

ANONYMOUS = ["/api/auth/login", "/api/auth/refresh"]


def _nested(depth: int, leaf='"x"') -> str:
    return "[" * depth + leaf + "]" * depth


def _post(client, path, raw: str | bytes):
    return client.post(path, raw, content_type="application/json")


def _assert_malformed(response, fragment: str):
    assert response.status_code == 400
    body = response.json()
    assert (set(body), body["code"]) == ({"message", "code", "details"}, "malformed_request")
    assert fragment in body["message"]


@pytest.mark.parametrize("path", ANONYMOUS)
@pytest.mark.parametrize(
    "document",
    [  # past the interpreter's recursion limit (1,000), under the sign-in body limit (16 KB)
        _nested(5_000),
        '{"a":' * 2_500 + "1" + "}" * 2_500,
        '{"email": ' + _nested(5_000) + ', "password": "x"}',
    ],
    ids=["array", "object", "in-a-field"],
)
def test_a_document_nested_past_the_recursion_limit_is_400(client, path, document):
    _assert_malformed(_post(client, path, document), f"nested deeper than {MAX_JSON_DEPTH} levels")


@pytest.mark.parametrize("path", ANONYMOUS)
def test_a_document_nested_past_the_api_limit_is_400(client, path):
    document = '{"refreshToken": "x", "email": "a@b.c", "password": "x", "extra": ' + _nested(MAX_JSON_DEPTH) + "}"

    _assert_malformed(_post(client, path, document), f"nested deeper than {MAX_JSON_DEPTH} levels")


def test_a_document_at_the_depth_limit_is_parsed(client):
    document = '{"email": "nobody@example.com", "password": "x", "extra": ' + _nested(MAX_JSON_DEPTH - 1) + "}"

    response = _post(client, "/api/auth/login", document)

    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")


@pytest.mark.parametrize(
    "document",
    [
        '{"email": "\\ud800", "password": "x"}',
        '{"email": "a\\udfff@example.com", "password": "x"}',
        '{"email": "a@example.com", "password": "x\\ud83d"}',
        '{"email": "a@example.com", "password": "x", "\\ud800": 1}',
        '{"email": "a@example.com", "password": "x", "extra": [{"deep": ["\\udc00"]}]}',
    ],
    ids=["email", "low-surrogate", "half-a-pair", "in-a-key", "nested"],
)
def test_a_lone_surrogate_anywhere_is_400(client, document):
    _assert_malformed(_post(client, "/api/auth/login", document), "lone UTF-16 surrogate")


def test_a_surrogate_pair_is_a_character_and_passes(client):
    response = _post(client, "/api/auth/login", '{"email": "a@example.com", "password": "\\ud83d\\ude00"}')

    assert response.status_code == 401


@pytest.mark.parametrize("raw", [b'{"email": "\xff\xfe", "password": "x"}', b"\xed\xa0\x80"])
def test_bytes_that_are_not_utf8_are_400(client, raw):
    response = _post(client, "/api/auth/login", raw)

    assert (response.status_code, response.json()["code"]) == (400, "malformed_request")


def test_authenticated_endpoints_use_the_same_parser(admin_client):
    body = json.dumps({"title": "abc", "description": "abc", "clientId": "x"}).replace('"abc"', '"a\\ud800c"', 1)

    response = admin_client.post("/api/tickets", body, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (400, "malformed_request")
