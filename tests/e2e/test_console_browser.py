"""The local console in a real headless browser: an order created through the API (as a backend
would) shows up on the page, is paid by clicking its Pay button, and the page shows it PAID.

Needs Chromium and its driver (Debian: ``chromium``, ``chromium-driver``; ``make toolchains``
installs them) and the ``selenium`` package; skipped with the reason when one is missing.
"""

from __future__ import annotations

import shutil

import pytest
import requests

from local.stack import LocalStack

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no chromium / chromedriver on PATH (Debian: apt-get install chromium chromium-driver; `make toolchains`)",
)

WAIT = 30  # real seconds


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements-dev.txt)")
    from local.console.browser import headless_chromium

    driver = headless_chromium(webdriver, CHROMIUM, CHROMEDRIVER)
    try:
        yield driver
    finally:
        driver.quit()


def test_an_order_paid_on_the_page_shows_paid(stack: LocalStack, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    order = {
        "out_order_no": "browser-0001",
        "total_amount": 12800,
        "subject": "拿铁咖啡 <b>大杯</b>",  # markup in data must show as text
        "body": "拿铁 大杯",
    }
    created = requests.post(f"{stack.api.url}/payments", json=order, timeout=30)
    assert created.status_code == 201, created.text

    browser.get(stack.console.url)
    wait = WebDriverWait(browser, WAIT)
    row = '#orders tr[data-ref="browser-0001"]'
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} td.status"), "CREATED"))
    Select(browser.find_element(By.CSS_SELECTOR, f"{row} select.channel")).select_by_value("2")  # Alipay
    browser.find_element(By.CSS_SELECTOR, f"{row} button.pay").click()
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} td.status"), "PAID"))

    answer = requests.get(f"{stack.api.url}/payments/browser-0001", timeout=10).json()
    assert (answer["status"], answer["way"]) == ("PAID", 2)
    # The payment callback and our answer are on the timeline.
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#timeline tr.callback.sent")))
    delivered = browser.find_element(By.CSS_SELECTOR, "#timeline tr.callback.sent")
    assert "browser-0001" in delivered.text
    assert "HTTP 200" in delivered.text
    assert not browser.find_elements(By.CSS_SELECTOR, "#orders b")  # the subject was never parsed as HTML
