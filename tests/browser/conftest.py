"""The admin in headless Chromium (design §6): one browser for the package, a fresh context per test.

Chromium is Debian's (/usr/bin/chromium, installed by scripts/ensure_chromium.sh); Playwright's own
browser download is not used. Without the executable every browser test is skipped, with the reason.

Playwright's sync API keeps an asyncio loop running in the test thread while it is started, and
Django refuses ORM calls from a thread with a running loop. The browser is therefore package-scoped
(started by the first browser test, stopped after the last one, so the rest of the suite never runs
beside that loop), and DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly that time. The live server answers
requests in its own threads, where no loop runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "browser-test-password"
TIMEOUT_MS = 10_000  # actions and navigation; expect() waits 5 s by default


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)  # starts Chromium and a live server


@pytest.fixture(scope="package")
def browser() -> Browser:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: run scripts/ensure_chromium.sh as root")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            yield browser
            browser.close()


@pytest.fixture
def manager(transactional_db, settings, django_user_model):
    """An integration manager: a superuser, with a fast hasher (hashing is not under test here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return django_user_model.objects.create_superuser("manager", "manager@example.com", PASSWORD)


@pytest.fixture
def page(browser, live_server) -> Page:
    """A fresh context on the live server; an uncaught script error on any page fails the test."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    yield page
    context.close()
    assert not errors, f"script errors in the admin: {errors}"


@pytest.fixture
def admin_page(page, manager) -> Page:
    """``page``, logged in through the admin's login form."""
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.get_by_label("Username:").fill(manager.username)
    page.get_by_label("Password:").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Integration", exact=True)).to_be_visible()
    return page
