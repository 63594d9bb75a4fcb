"""A headless Chromium for the console's browser test and its screenshot (``selenium`` is a dev
dependency: imported by the caller, passed in, so this module imports without it)."""

from __future__ import annotations

from typing import Any

WINDOW = (1280, 800)


def headless_chromium(webdriver: Any, chromium: str, chromedriver: str) -> Any:
    """A Chrome WebDriver on the given binaries: headless, sized for the README's screenshot,
    runnable as root in a container (no sandbox, no /dev/shm), never through a proxy."""
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-proxy-server",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
