"""docker-compose.yml read as the compose spec and the images document it (no engine here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ["migrate", "api", "worker", "beat", "flower"]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _gunicorn_graceful_timeout() -> int:
    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 - our own config file
    return namespace["graceful_timeout"]


def _seconds(value: str) -> int:
    assert value.endswith("s"), value
    return int(value[:-1])


def test_one_image_is_built_once_and_run_by_every_app_service():
    services = _compose()["services"]

    assert [name for name, service in services.items() if "build" in service] == ["migrate"]
    assert {services[name]["image"] for name in APP_SERVICES} == {"techsupport-pro:latest"}
    assert all(services[name]["pull_policy"] == "never" for name in APP_SERVICES if name != "migrate")


def test_app_services_outlive_gunicorns_graceful_timeout_when_stopped():
    services = _compose()["services"]

    for name in APP_SERVICES:
        assert _seconds(services[name]["stop_grace_period"]) > _gunicorn_graceful_timeout(), name


def test_prometheus_can_scrape_the_api_whatever_env_sets():
    hosts = _compose()["services"]["api"]["environment"]["ALLOWED_HOSTS"]

    assert hosts.startswith("api,")


def test_mail_goes_to_the_mailpit_service_with_its_ui_on_loopback():
    services = _compose()["services"]
    env = services["worker"]["environment"]

    assert (env["EMAIL_HOST"], env["EMAIL_PORT"]) == ("${EMAIL_HOST:-mailpit}", "${EMAIL_PORT:-1025}")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    assert services["mailpit"]["ports"] == ["127.0.0.1:${MAILPIT_UI_PORT:-8025}:8025"]


def test_the_database_password_never_goes_into_the_url():
    env = _compose()["services"]["api"]["environment"]

    assert env["DATABASE_URL"] == "postgres://techsupport@postgres:5432/techsupport"
    assert env["DATABASE_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
