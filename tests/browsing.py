"""What the portal's browser tests share: Debian's chromium, signing in as a person would, and the check that a page
fits a phone and a laptop with its screenshots saved (var/screenshots/)."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import wait_for

CHROMIUM = "/usr/bin/chromium"
# Mark a browser test module with `pytestmark = BROWSER`.
BROWSER = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium; scripts/test.sh does)"
    ),
]
# Without the background-networking flags chromium tries to reach the internet (see RECIPES.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1366, "height": 768}
SCREENSHOTS = Path("var/screenshots")


def sign_in(page, base: str, printed: dict[str, str], who: str) -> None:
    """Sign in with the demo's portal account (`partner admin` or `reviewer`), as a person would."""
    page.goto(f"{base}/portal")
    page.get_by_label("Email").fill(printed[f"portal {who}"])
    page.get_by_label("Password").fill(printed[f"portal {who} password"])
    page.get_by_role("button", name="Sign in", exact=True).click()


def create_customer(page, base: str, *, name: str, country: str, city: str, external_id: str, email: str) -> None:
    """Fill and send the portal's new-customer form."""
    page.goto(f"{base}/portal/customers/new")
    page.locator("#f-name").fill(name)
    page.get_by_label("Primary admin email").fill(email)
    page.get_by_label("External id").fill(external_id)
    page.get_by_label("Address line 1").fill("1 Main Street")
    page.get_by_label("City").fill(city)
    page.locator("#f-country").select_option(country)
    page.get_by_role("button", name="Create customer").click()


def case_link(page, name: str = "Mahan Air") -> str:
    """The review queue's link to the named customer's case, once screening has opened it."""
    link = page.get_by_role("link", name=name)
    wait_for(lambda: (page.reload(), link.count())[1], bool, timeout=60, interval=1)
    return link.first.get_attribute("href")


def shoot(page, base: str, path: str, name: str, then: Callable[[Any], None] | None = None) -> list[str]:
    """Open `path` at phone and laptop width (and do `then(page)` there, e.g. send a form), save a full-page
    screenshot of each (var/screenshots/<name>-<width>.png) and return what scrolled sideways ([] when it fits)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    too_wide = []
    for size in (PHONE, LAPTOP):
        page.set_viewport_size(size)
        page.goto(f"{base}{path}")
        if then is not None:
            then(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size['width']}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > size["width"]:
            too_wide.append(f"{path} at {size['width']} px is {width} px wide")
    return too_wide
