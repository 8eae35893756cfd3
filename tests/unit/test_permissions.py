"""The permission table itself: grants per role, the public, channel keys, deactivated officials, the docs."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engine.intake.models import ChannelKey
from engine.org import permissions as p
from engine.org.models import ROLES, Department, Official

DOCS = Path(__file__).resolve().parents[2] / "docs" / "administrators.md"


def _official(*roles: str, active: bool = True) -> Official:
    dept = Department(code="x", name="某部门", level="county", division_code="530111", is_credit_lead=False)
    return Official(username="u", full_name="某人", roles=list(roles), is_active=active, department=dept)


def test_every_role_grants_known_permissions_and_signing_in() -> None:
    assert set(p.ROLE_PERMISSIONS) == set(ROLES)
    for role, grants in p.ROLE_PERMISSIONS.items():
        assert grants <= set(p.PERMISSIONS), role
        assert p.allowed(_official(role), p.SIGNED_IN)
    assert p.roles_granting(p.ADMINISTER_ORG) == ["sysadmin"]
    assert "sysadmin" not in p.roles_granting(p.VIEW_CASE)  # administrators do not read cases
    assert p.roles_granting(p.VIEW_CONTACT_DATA) == ["intake", "official", "leader", "prefecture_lead", "ndrc"]
    assert p.roles_granting(p.VIEW_EVIDENCE) == p.roles_granting(p.ADD_EVIDENCE) == p.roles_granting(
        p.VIEW_CONTACT_DATA)  # administrators open no complainant's files


def test_the_public_channel_keys_and_deactivated_officials() -> None:
    assert p.allowed(None, p.PUBLIC)
    assert not p.allowed(None, p.SIGNED_IN)
    key = ChannelKey(channel="hotline_12345", key_hash="0" * 64)
    assert p.allowed(key, p.REGISTER_COMPLAINT)
    assert p.allowed(key, p.CHANNEL_FEED)
    assert not p.allowed(key, p.VIEW_CONTACT_DATA)
    assert not p.allowed(_official("ndrc"), p.CHANNEL_FEED)
    key.revoked_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert not p.allowed(key, p.REGISTER_COMPLAINT)
    assert not p.allowed(_official("ndrc", active=False), p.VIEW_CASE)
    assert not p.allowed(_official("ndrc"), "no_such_permission")


def test_the_administrators_guide_lists_every_permission() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [name for name in p.PERMISSIONS if f"`{name}`" not in text]
    assert not missing, f"docs/administrators.md, 角色与权限: describe {missing}"
