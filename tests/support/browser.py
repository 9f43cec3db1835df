"""A real headless Chromium for e2e tests: Debian's `chromium` + `chromium-driver` (installed by
`make setup`), driven with Selenium. Nothing is downloaded at run time, and the browser is kept
off the internet: only the local stack's loopback addresses resolve, and every URL the page
requested is recorded so a test can assert nothing left the machine.

Used by the Swagger UI test; any page the stack serves (e.g. a map page) can use it the same way:

    with chromium(artifacts_dir) as browser:
        browser.open(f"{stack.api_url}/docs")
        browser.wait_for_css("h3.opblock-tag")
        browser.screenshot("docs")
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("FLEETBRIDGE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FLEETBRIDGE_CHROMEDRIVER", "/usr/bin/chromedriver")
#: where screenshots go (gitignored); FLEETBRIDGE_ARTIFACTS_DIR overrides it (CI uploads)
ARTIFACTS_DIR = Path(os.environ.get("FLEETBRIDGE_ARTIFACTS_DIR") or ROOT / ".artifacts")
LAUNCH_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1366,2400",
    # nothing but the loopback resolves: a page that tries the internet fails loudly
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
LOCAL_PREFIXES = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:", "chrome")


def missing() -> str | None:
    """Why the browser cannot run here (None: it can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: `make setup` installs Debian's chromium and chromium-driver"
    return None


@dataclass
class Browser:
    """A started Chromium with a few helpers; `driver` is the Selenium WebDriver."""

    driver: Any
    artifacts: Path
    _requested: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        """Load `url` and wait for the document."""
        self.driver.get(url)

    def wait_for_css(self, selector: str, timeout: float = 30) -> list[Any]:
        """The elements matching `selector`, once there is at least one."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        return list(
            WebDriverWait(self.driver, timeout).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, selector) or False
            )
        )

    def css(self, selector: str, within: Any = None) -> list[Any]:
        """The elements matching `selector` now (maybe none)."""
        from selenium.webdriver.common.by import By

        return list((within or self.driver).find_elements(By.CSS_SELECTOR, selector))

    def click(self, element: Any) -> None:
        """Scroll `element` into view and click it (through JS: no overlay intercepts)."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        self.driver.execute_script("arguments[0].click();", element)

    def screenshot(self, name: str) -> Path:
        """Save a PNG of the page under the artifacts directory; returns its path."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for so far (from Chromium's network log)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self._requested.append(message["params"]["request"]["url"])
        return list(self._requested)

    def external_requests(self) -> list[str]:
        """Requested URLs that are not on this machine (should be none)."""
        return [url for url in self.requested_urls() if not url.startswith(LOCAL_PREFIXES)]


@contextmanager
def chromium(artifacts: Path = ARTIFACTS_DIR) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile, quit and removed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads anything
    profile = tempfile.mkdtemp(prefix="fleetbridge-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*LAUNCH_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield Browser(driver, artifacts)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
