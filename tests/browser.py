"""A real headless browser for the tests: Debian's ``chromium`` driven by Selenium through ``chromium-driver``.

Nothing is downloaded: the driver and the browser are the distribution's (``.ci/run`` installs them when
missing), Selenium Manager is kept offline, and the browser starts with a fresh profile, no background
networking, and every host name resolving nowhere. ``open_page`` returns what the page did: the requests it
made (from the DevTools performance log) and its console messages.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9")


def available() -> str | None:
    """None when the browser and its driver are installed, else what is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    return None if not missing else f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"


@contextmanager
def chromium(width: int = 1280, height: int = 900):
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never fetches a driver or a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="socinf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requests_made(driver, document: str | None = None) -> list[str]:
    """Every URL asked for since the last call (DevTools Network.requestWillBeSent), or only those made for
    ``document`` (the browser's own start page makes requests of its own)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            if document is None or message["params"].get("documentURL") == document:
                urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
