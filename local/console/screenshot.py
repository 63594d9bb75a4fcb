"""The README's picture of the console: ``python -m local.console.screenshot [docs/console.png]``.

Starts a local stack, creates a few orders through the API as a backend would, pays one on the
page (its Pay button), lets one expire, refunds part of the paid one, and saves a 1280×800 PNG
once the page shows it PAID. Needs what the browser test needs (chromium, chromedriver, selenium).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import requests

from local.demo import SYNC_FIELDS
from local.stack import LocalStack, StackConfig

from .browser import WINDOW, headless_chromium

WAIT = 30


def _create(stack: LocalStack, no: str, amount: int, subject: str) -> None:
    body = {"out_order_no": no, "total_amount": amount, "subject": subject, "body": subject, **SYNC_FIELDS}
    answer = requests.post(f"{stack.api.url}/payments", json=body, timeout=30)
    answer.raise_for_status()


def _wait(stack: LocalStack, path: str, status: str) -> None:
    deadline = time.monotonic() + WAIT
    while requests.get(stack.api.url + path, timeout=10).json().get("status") != status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never became {status}")
        time.sleep(0.2)


def take(out: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        raise SystemExit("chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)")
    with LocalStack(StackConfig(log_level="CRITICAL")) as stack:
        # Expiry moves the one simulated clock past the order's window: first, before the others exist.
        _create(stack, "dev-0002", 3600, "美式咖啡")
        stack.console.actions.cancel("dev-0002")
        stack.console.actions.expire("dev-0002")
        _create(stack, "dev-0001", 12800, "拿铁咖啡")
        _create(stack, "dev-0003", 2200, "可颂")
        browser = headless_chromium(webdriver, chromium, driver_path)
        try:
            browser.get(stack.console.url)
            # --window-size is the window's; make the page itself 1280×800.
            inner = browser.execute_script("return [window.innerWidth, window.innerHeight]")
            width, height = WINDOW
            browser.set_window_size(2 * width - inner[0], 2 * height - inner[1])
            wait = WebDriverWait(browser, WAIT)
            row = '#orders tr[data-ref="dev-0001"]'
            wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} td.status"), "CREATED"))
            Select(browser.find_element(By.CSS_SELECTOR, f"{row} select.channel")).select_by_value("10")
            browser.find_element(By.CSS_SELECTOR, f"{row} button.pay").click()
            wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} td.status"), "PAID"))
            refund = {"out_refund_no": "dev-r-0001", "refund_amount": 3000, "reason": "顾客取消一杯"}
            requests.post(f"{stack.api.url}/payments/dev-0001/refunds", json=refund, timeout=30).raise_for_status()
            _wait(stack, "/refunds/dev-r-0001", "SUCCEEDED")
            _wait(stack, "/payments/dev-0002", "EXPIRED")
            time.sleep(2)  # one more poll of the page
            out.parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(out))
        finally:
            browser.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.console.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="docs/console.png", type=Path)
    take(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
