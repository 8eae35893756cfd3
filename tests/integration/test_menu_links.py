"""Every link of the header menu that a role sees leads to a page that role may open (no 403, no 404)."""
from __future__ import annotations

import re

import pytest

from engine.org.demo import OFFICIALS

# one demo official per combination of roles
BY_ROLES = {tuple(sorted(roles)): username for username, _name, _dept, roles in reversed(OFFICIALS)}


def _menu(page: str) -> list[str]:
    nav = re.search(r'<header class="topbar">.*?<nav[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None
    return [href for href in re.findall(r'<a href="([^"]+)"', nav.group(1))]


@pytest.mark.parametrize("username", sorted(set(BY_ROLES.values())))
def test_each_menu_link_opens_for_the_role(client, demo_password, username: str) -> None:  # noqa: ANN001
    assert client.post("/login", data={"username": username, "password": demo_password}).status_code == 302
    links = _menu(client.get("/").get_data(as_text=True))
    assert "/" in links  # the inbox
    for href in links:
        response = client.get(href)
        assert response.status_code == 200, (username, href, response.status_code)


def test_public_menu_links_open(client) -> None:  # noqa: ANN001
    links = _menu(client.get("/public/", follow_redirects=True).get_data(as_text=True))
    assert len(links) >= 5
    for href in links:
        assert client.get(href).status_code == 200, href
