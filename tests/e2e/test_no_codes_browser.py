"""No raw codes or English in front of users: sign in as each role, open every page the menu leads to (and the
sub-pages their own menus lead to), and fail on visible text that looks like an identifier (credit_yunnan,
report_breach, task_completed) or an English status word (running, completed, error…)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from tests.integration.test_menu_links import BY_ROLES

IDENTIFIER = re.compile(r"\b[a-z]+_[a-z_]+\b")
ENGLISH_STATUS = re.compile(r"\b(running|completed|suspended|error|errors|pending|active|inactive|draft|withdrawn|"
                            r"closed|merged|failed|true|false|none|null|cli|bulletin|reminder|escalation)\b",
                            re.IGNORECASE)
# what may look like that and is not a code shown to a user: addresses, e-mail, the API's own paths in help text,
# template placeholders, and file names (a diagram deployed from credit_repair.bpmn, an uploaded file)
ALLOWED = re.compile(r"(https?://\S+|/[\w/.\-{}?=&]+|\S+@\S+|\{\{ ?\w+ ?\}\}|[\w\-]+\.(?:bpmn|dmn|json|docx|xlsx|csv|pdf))")


def _offending(text: str) -> list[str]:
    cleaned = ALLOWED.sub(" ", text)
    return sorted({m.group(0) for m in IDENTIFIER.finditer(cleaned)} | {m.group(0) for m in ENGLISH_STATUS.finditer(cleaned)})


@pytest.fixture
def browser_page(open_tab) -> object:  # noqa: ANN001
    return open_tab(timeout=20_000)


@pytest.fixture
def some_work(api, session: Session) -> None:
    """A case from a channel, accepted (history, notifications, audit entries, documents to show)."""
    from tests.conftest import COMPLAINT

    created = api("intake").post("/api/v1/complaints", json={**COMPLAINT, "channel": "credit_yunnan",
                                                              "external_ref": "CY-1"}).get_json()
    screening = api("intake").get(f"/api/v1/tasks?complaint_id={created['id']}").get_json()["items"][0]
    assert api("intake").post(f"/api/v1/tasks/{screening['id']}/complete", json={"accepted": True}).status_code == 200


def _visible_text(page) -> str:  # noqa: ANN001
    return page.evaluate("""() => {
        const hidden = el => el.closest('script, style, noscript, [hidden], template');
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const parts = [];
        while (walker.nextNode()) {
            const node = walker.currentNode, el = node.parentElement;
            if (!el || hidden(el)) continue;
            const style = getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            parts.push(node.textContent);
        }
        document.querySelectorAll('input[type=submit], button').forEach(b => parts.push(b.value || ''));
        document.querySelectorAll('option').forEach(o => parts.push(o.textContent));
        return parts.join(' ');
    }""")


def _links(page, selector: str) -> list[str]:  # noqa: ANN001
    return page.evaluate(f"""() => [...document.querySelectorAll({selector!r})]
        .map(a => a.getAttribute('href')).filter(h => h && h.startsWith('/') && !h.startsWith('/api/'))""")


@pytest.mark.e2e
@pytest.mark.parametrize("username", sorted(set(BY_ROLES.values())))
def test_menu_pages_show_no_codes_or_english(browser_page, some_work, browser_login, username: str) -> None:  # noqa: ANN001
    page = browser_page
    browser_login(page, username)
    seen: set[str] = set()
    queue = ["/", *_links(page, "header nav a")]
    problems: dict[str, list[str]] = {}
    while queue:
        href = queue.pop(0)
        if href in seen or href.endswith((".xlsx", ".csv", ".docx", ".pdf", ".json")):
            continue
        seen.add(href)
        page.goto(href)
        found = _offending(_visible_text(page))
        if found:
            problems[href] = found
        if len(seen) < 40:  # the pages a section's own menu leads to (流程管理, 信用记录, 系统管理 …)
            queue += [h for h in _links(page, "nav.subnav a") if h not in seen]
    assert problems == {}, problems
