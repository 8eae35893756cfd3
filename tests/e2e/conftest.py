"""The browser tests' shared setup: the test app served on a free port, Chromium tabs, signing in."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VENDOR = Path(__file__).resolve().parents[2] / "web/static/vendor"
VIEWER = VENDOR / "bpmn-js/bpmn-navigated-viewer.production.min.js"
MODELER = VENDOR / "bpmn-js/bpmn-modeler.production.min.js"
ECHARTS = VENDOR / "echarts/echarts.min.js"


@pytest.fixture
def live_url(app, bundled_model_ids) -> Iterator[str]:  # noqa: ANN001
    """The test app served on a free localhost port by a background thread, with CSRF checks on (as in
    production: forms and our JavaScript's writes to /api must carry the token) and the public column's rate
    limits reset before and after."""
    from werkzeug.serving import make_server

    from web.public import limiter

    csrf_before = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        limiter.reset()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.config["WTF_CSRF_ENABLED"] = csrf_before
        with app.app_context():
            limiter.reset()


def page_errors(tab: Any, problems: list[str]) -> None:
    """Count the page's uncaught script errors as problems."""
    tab.on("pageerror", lambda exc: problems.append(str(exc)))


@pytest.fixture
def open_tab(live_url: str) -> Iterator[Callable[..., Any]]:
    """open_tab(requires=(files…), timeout=15_000, watch=page_errors, **context options) → a Chromium tab on the
    live app (locale zh-CN); skipped without Chromium or a required vendored file. What `watch` records as a
    problem fails the test when the tab closes."""
    problems: list[str] = []
    with ExitStack() as stack:

        def open_(*, requires: tuple[Path, ...] = (), timeout: int = 15_000,
                  watch: Callable[[Any, list[str]], None] | None = None, **options: Any) -> Any:
            if not CHROMIUM.exists():
                pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
            for path in requires:
                if not path.exists():
                    pytest.skip(f"{path.name} is not in web/static/vendor (run make vendor)")
            sync_api = pytest.importorskip("playwright.sync_api")
            pw = stack.enter_context(sync_api.sync_playwright())
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            stack.callback(browser.close)
            context = browser.new_context(locale="zh-CN", base_url=live_url, **options)
            stack.callback(context.close)
            context.set_default_timeout(timeout)
            tab = context.new_page()
            if watch is not None:
                watch(tab, problems)
            return tab

        yield open_
    assert not problems, problems


def sign_in(page: Any, username: str, password: str) -> None:
    """Sign in through the login page and wait for the start page."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


@pytest.fixture
def browser_login(demo_password: str) -> Callable[[Any, str], None]:
    """browser_login(page, "intake"): sign a tab in as a demo official."""
    return lambda page, username: sign_in(page, username, demo_password)
