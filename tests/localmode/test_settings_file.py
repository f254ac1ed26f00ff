"""var/local.env: written once, read by every process of the checkout."""

import stat

from localmode import settings_file


def test_the_file_is_written_once_with_a_generated_key_and_the_local_document_server(tmp_path):
    path = tmp_path / "var" / "local.env"

    values, created = settings_file.ensure(path)
    again, created_again = settings_file.ensure(path)

    assert (created, created_again) == (True, False)
    assert again == values
    assert values["DEBUG"] == "1"
    assert len(values["SECRET_KEY"]) >= 50
    assert values["MONGO_URL"].startswith("mongodb://127.0.0.1:") and values["MONGO_URL"].endswith("/techsupport")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the signing key
    assert "NOT read by local mode" in path.read_text()  # .env is compose's


def test_every_checkout_gets_its_own_key(tmp_path):
    first, _ = settings_file.ensure(tmp_path / "a.env")
    second, _ = settings_file.ensure(tmp_path / "b.env")

    assert first["SECRET_KEY"] != second["SECRET_KEY"]


def test_read_ignores_comments_and_blank_lines_and_strips_quotes(tmp_path):
    path = tmp_path / "local.env"
    path.write_text("# comment\n\nDEBUG=1\nDEFAULT_ADMIN_PASSWORD='s3cret pass'\n  MONGO_URL = mongodb://x/y \n")

    assert settings_file.read(path) == {
        "DEBUG": "1",
        "DEFAULT_ADMIN_PASSWORD": "s3cret pass",
        "MONGO_URL": "mongodb://x/y",
    }
