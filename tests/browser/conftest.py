"""The back-office in a real browser: headless Chromium driven by Selenium, against the local
stack (gunicorn + a Celery worker on the file broker + SQLite, as `make run` runs it).

The browser is Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); CHROME_BIN and
CHROMEDRIVER point elsewhere (GitHub's runners have Google Chrome). Without them the tests are
skipped with the reason, or fail when REQUIRE_SERVICES=1 (CI). Screenshots (1400 px wide) go to
BROWSER_SCREENSHOTS_DIR, default var/screenshots/; `BROWSER_SCREENSHOTS_DIR=docs/screenshots`
refreshes the ones the README shows.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.faults.harness import ROOT
from tests.localmode.stack import local_stack

CHROME_BIN = os.environ.get("CHROME_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
# Flags that run reliably headless in a container as root, with no network of its own.
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]
WIDTH, HEIGHT = 1400, 900
ADMIN = ("admin@browser.example", "Browser-Admin-Pass-1")
SUPERVISOR = ("supervisor@techsupport.pro", "Demo-Pass-2024")  # seed_demo's, local mode
LOCAL_SCREENSHOTS = ROOT / "var" / "screenshots"
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR") or LOCAL_SCREENSHOTS)


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium (pip install -r requirements-dev.txt)"
    for path in (CHROME_BIN, CHROMEDRIVER):
        if not (Path(path).is_file() or shutil.which(path)):
            return f"needs {path} (apt-get install chromium chromium-driver, or set CHROME_BIN / CHROMEDRIVER)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing()
    if reason and os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but the browser tests {reason}")
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROME_BIN
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in [*CHROME_FLAGS, f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def back_office(tmp_path_factory):
    """The local stack with the demo data (seed_demo: the supervisor, agents, tickets) after one
    SLA sweep, as `make run` shows it a minute after its start."""
    folder = tmp_path_factory.mktemp("browserstack")
    with local_stack(
        folder, document_db="techsupport_browser_test", admin=ADMIN, setup=("ensure_admin", "seed_demo", "sla_sweep")
    ) as running:
        yield running


def screenshot(driver, name: str, *, full_page: bool = True, published: bool = True) -> Path:
    """The page at 1400 px wide (the whole page up to 2,400 px tall, or the window). Only the
    `published` ones (those the README shows) go to BROWSER_SCREENSHOTS_DIR; the others stay in
    var/screenshots/."""
    folder = SCREENSHOTS if published else LOCAL_SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    if full_page:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(WIDTH, min(max(height, HEIGHT), 2400))
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, HEIGHT)
    return path
