"""A supervisor's day in the back-office, in headless Chromium: log in, triage a ticket on its
page, bulk-assign from the list, upload a workbook and watch a real worker import it, open the
dashboard. The tests run in this order and share the browser and the stack."""

import pytest

from ingestion.sample_workbook import write_sample_workbook
from tests.browser.conftest import SUPERVISOR, WIDTH, screenshot

pytestmark = pytest.mark.browser

IMPORT_ROWS = 12_000


def _by():
    from selenium.webdriver.common.by import By

    return By


def _wait(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def _css(driver, selector: str):
    return driver.find_elements(_by().CSS_SELECTOR, selector)


def _click_and_load(driver, element) -> None:
    """Clicks what submits a form or follows a link, and waits for the next page."""
    from selenium.webdriver.support.expected_conditions import staleness_of

    page = driver.find_element(_by().TAG_NAME, "html")
    element.click()
    _wait(driver, staleness_of(page))
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def _messages(driver) -> list[str]:
    return [node.text for node in _css(driver, "ul.messagelist li")]


def _open(driver, back_office, path: str) -> None:
    driver.get(back_office["base"] + path)


def _ticket_url(back_office, title: str) -> str:
    tickets = back_office["http"].get(f"{back_office['base']}/api/tickets?pageSize=100", timeout=10).json()["data"]
    ticket = next(ticket for ticket in tickets if ticket["title"] == title)
    return f"/admin/tickets/ticket/{ticket['id']}/change/"


def test_the_supervisor_logs_in_to_an_index_ordered_for_them(browser, back_office):
    _open(browser, back_office, "/")  # the root leads to the back-office's login
    _wait(browser, lambda d: d.find_elements(_by().ID, "id_username"))
    browser.find_element(_by().ID, "id_username").send_keys(SUPERVISOR[0])
    browser.find_element(_by().ID, "id_password").send_keys(SUPERVISOR[1])
    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, "input[type=submit]"))

    apps = [node.get_attribute("class") for node in _css(browser, "#content-main > div.module")]
    assert [name.split()[0] for name in apps] == ["app-tickets", "app-reports", "app-ingestion", "app-accounts"]
    assert "Periodic tasks" not in browser.page_source and "View site" not in browser.page_source
    screenshot(browser, "index", published=False)


def test_the_ticket_list_fits_1400_px_with_the_sla_badge_in_view(browser, back_office):
    _open(browser, back_office, "/admin/tickets/ticket/")
    _wait(browser, lambda d: d.find_elements(_by().ID, "result_list"))

    page_width = browser.execute_script("return document.documentElement.scrollWidth")
    badge_right = browser.execute_script(
        "return Math.max(...[...document.querySelectorAll('td.field-sla_badge')]"
        ".map(td => td.getBoundingClientRect().right))"
    )
    assert page_width <= WIDTH
    assert 0 < badge_right <= WIDTH
    assert _css(browser, "span.sla-badge.sla-breached")  # "Cannot print invoices", 30 h old on a 24 h SLA
    screenshot(browser, "ticket-list")


def test_a_ticket_is_triaged_on_its_page(browser, back_office):
    _open(browser, back_office, _ticket_url(back_office, "Cannot print invoices"))
    buttons = [node.text for node in _css(browser, ".triage-transitions button")]
    assert buttons == ["→ In progress", "→ Escalated"]  # OPEN, from the transition table

    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, "button[value=IN_PROGRESS]"))
    assert _messages(browser) == ["Moved to In progress."]
    assert [node.text for node in _css(browser, ".triage-transitions button")] == [
        "→ Resolved",
        "→ Escalated",
        "→ Waiting on customer",
    ]

    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(_by().ID, "id_agent")).select_by_visible_text("agent2@techsupport.pro · level 2")
    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, ".triage-assign button"))
    assert _messages(browser) == ["Assigned to agent2@techsupport.pro."]

    browser.find_element(_by().ID, "id_text").send_keys("Called the client: the printer queue was stuck.")
    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, ".triage-note button"))
    assert _messages(browser) == ["Comment added to the audit trail."]

    trail = browser.find_element(_by().CSS_SELECTOR, "table.audit-trail").text
    assert "Status Open → In progress." in trail
    assert "Assigned to agent2@techsupport.pro." in trail
    assert "Called the client: the printer queue was stuck." in trail
    assert "{" not in trail  # sentences, not JSON
    screenshot(browser, "ticket-triage")


def test_tickets_are_assigned_in_bulk_from_the_list(browser, back_office):
    _open(browser, back_office, "/admin/tickets/ticket/?status__exact=OPEN")
    rows = _css(browser, "#result_list tbody tr")
    assert len(rows) >= 1
    for row in rows:
        row.find_element(_by().CSS_SELECTOR, "input.action-select").click()
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(_by().NAME, "action")).select_by_value("assign_to_agent")
    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, "button[name=index]"))

    # The intermediate page: the agent autocomplete (select2), then Assign.
    _wait(browser, lambda d: d.find_elements(_by().CSS_SELECTOR, ".select2-selection")).pop().click()
    _wait(browser, lambda d: d.find_elements(_by().CSS_SELECTOR, ".select2-search__field")).pop().send_keys("agent3")
    option = _wait(
        browser,
        lambda d: next((o for o in _css(d, ".select2-results__option") if "Cleo Level-Three" in o.text), None),
    )
    option.click()
    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, "form input[type=submit][value=Assign]"))

    assert _messages(browser)[0] == f"{len(rows)} ticket(s) assigned to agent3@techsupport.pro."


def test_a_workbook_uploaded_in_the_admin_is_imported_with_live_progress(browser, back_office, tmp_path):
    workbook = tmp_path / "history-2025.xlsx"
    write_sample_workbook(workbook, rows=IMPORT_ROWS, invalid_ratio=0.002, seed=15)
    _open(browser, back_office, "/admin/ingestion/importjob/")
    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, ".object-tools a.addlink"))
    screenshot(browser, "upload", full_page=False, published=False)
    browser.find_element(_by().ID, "id_file").send_keys(str(workbook))
    _click_and_load(browser, browser.find_element(_by().CSS_SELECTOR, "#upload-form input[type=submit]"))
    assert browser.current_url.endswith("/change/")
    assert _messages(browser) == ["«history-2025.xlsx» uploaded: the workers are importing it."]

    # On the list, the figures refresh in place: the marker set on the page survives.
    _open(browser, back_office, "/admin/ingestion/importjob/")
    browser.execute_script("window.stillTheSamePage = true")
    seen = []

    def finished(driver):
        text = driver.find_element(_by().CSS_SELECTOR, ".import-pct").text
        if not seen or seen[-1] != text:
            seen.append(text)
            if len(seen) == 2:
                screenshot(driver, "import-progress", full_page=False)
        return text == "100.0 %"

    _wait(browser, finished, timeout=120)
    percentages = [float(text.rstrip(" %")) for text in seen]
    assert percentages == sorted(percentages) and percentages[-1] == 100.0
    assert browser.execute_script("return window.stillTheSamePage") is True
    status = browser.find_element(_by().CSS_SELECTOR, '[data-job-field="status"]').text
    assert status in ("Completed", "Completed with errors")
    assert browser.find_element(_by().CSS_SELECTOR, '[data-job-field="total"]').text == f"{IMPORT_ROWS:,}"
    assert browser.find_element(_by().CSS_SELECTOR, '[data-job-field="rows_per_second"]').text.endswith("rows/s")
    if len(seen) < 2:  # imported faster than the first refresh: show the finished job
        screenshot(browser, "import-progress", full_page=False)


def test_the_dashboard_draws_the_reports(browser, back_office):
    _open(browser, back_office, "/admin/reports/dashboard/")
    _wait(browser, lambda d: d.find_elements(_by().CSS_SELECTOR, ".rd-grid"))

    titles = [node.text for node in _css(browser, ".rd-panel h2")]
    assert titles == [
        "Average resolution time per client type (minutes)",
        "SLA compliance per client type",
        "Escalated tickets per month",
        "Fastest agents (average resolution, minutes)",
        "Tickets per ISO week (Monday) and status",
    ]
    assert len(_css(browser, "svg.rd-chart")) == 5  # every chart has data after the import
    screenshot(browser, "dashboard")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= WIDTH


def test_a_business_calendar_is_set_up_and_named_by_a_policy(browser, back_office):
    # Issue 16's pages: a calendar with its week and a holiday, the policy naming it (with its
    # first-response target and auto-assignment), the agents' auto-assignment column.
    _open(browser, back_office, "/admin/tickets/businesscalendar/add/")
    _wait(browser, lambda d: d.find_elements(_by().ID, "id_name"))
    browser.find_element(_by().ID, "id_name").send_keys("Madrid office")
    time_zone = browser.find_element(_by().ID, "id_time_zone")
    time_zone.clear()
    time_zone.send_keys("Europe/Madrid")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        browser.find_element(_by().ID, f"id_{day}").send_keys("09:00-14:00, 15:00-18:00")
    browser.find_element(_by().ID, "id_holidays-0-date").send_keys("2026-12-25")
    browser.find_element(_by().ID, "id_holidays-0-name").send_keys("Christmas")
    screenshot(browser, "calendar-add", published=False)
    _click_and_load(browser, browser.find_element(_by().NAME, "_save"))
    assert any("Madrid office" in message for message in _messages(browser)), _messages(browser)
    row = browser.find_element(_by().ID, "result_list").text
    assert "Madrid office" in row and "40" in row  # open hours per week
    screenshot(browser, "calendar-list", published=False)

    _open(browser, back_office, "/admin/tickets/slapolicy/")
    links = [link for link in _css(browser, "#result_list th a") if link.text.upper() == "NORMAL"]
    _click_and_load(browser, links[0])
    for field in ("id_first_response_minutes", "id_calendar", "id_auto_assign"):
        assert browser.find_elements(_by().ID, field), field
    screenshot(browser, "sla-policy", published=False)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= WIDTH
