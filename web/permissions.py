"""The web side of the one permission check (engine.org.permissions).

Every endpoint names the permission it requires — `@requires(...)` on the view, or `protect(blueprint, ...)`
for a whole blueprint — and one `before_request` hook enforces it before the view runs (before flask-smorest
parses any argument): 401 for the API and a redirect to the sign-in page for pages when nobody is signed in,
403 when the roles do not grant it. The rule for one case, task or record is applied by the engine service
the view calls. Templates ask `may("permission")`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, request
from flask_login import current_user

from engine.org import permissions
from engine.org.permissions import PUBLIC

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Rule:
    """What an endpoint requires; `channel`: a channel's X-Api-Key may stand in for an official."""

    permission: str
    channel: bool = False


_BLUEPRINTS: dict[str, Rule] = {}
_ENDPOINTS: dict[str, Rule] = {  # endpoints that no module of ours defines
    "static": Rule(PUBLIC),
    "api-docs.openapi_json": Rule(PUBLIC),
}


def requires(permission: str, channel: bool = False) -> Callable[[F], F]:
    """Declare the endpoint's permission; put it directly above `def` (below the route and smorest decorators,
    whose wrappers copy the mark)."""
    if permission not in permissions.PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def mark(view: F) -> F:
        view.permission_rule = Rule(permission, channel)  # type: ignore[attr-defined]
        return view

    return mark


def protect(blueprint: Blueprint | str, permission: str) -> None:
    """Every endpoint of `blueprint` requires `permission` unless its view declares its own."""
    if permission not in permissions.PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    _BLUEPRINTS[blueprint if isinstance(blueprint, str) else blueprint.name] = Rule(permission)


def rule_for(app: Flask, endpoint: str) -> Rule | None:
    """The declared rule of `endpoint`: its view's mark, the table above, or its (innermost) blueprint's."""
    rule = getattr(app.view_functions.get(endpoint), "permission_rule", None) or _ENDPOINTS.get(endpoint)
    if rule is not None:
        return rule
    parts = endpoint.split(".")[:-1]
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in _BLUEPRINTS:
            return _BLUEPRINTS[".".join(parts[:end])]
    return None


def may(permission: str, obj: Any = None) -> bool:
    """For templates and views: may the caller (signed in or not) do this?"""
    principal = current_user._get_current_object() if current_user.is_authenticated else None
    return permissions.allowed(principal, permission, obj)


def init_app(app: Flask) -> None:
    app.before_request(_enforce)
    app.jinja_env.globals["may"] = may


def _enforce() -> Any:
    if request.endpoint is None:  # 404 / 405: nothing to protect
        return None
    rule = rule_for(current_app, request.endpoint)
    if rule is None or rule.permission == PUBLIC:
        return None
    if rule.channel:
        from web.api.channels import API_KEY_HEADER, current_channel_key

        if request.headers.get(API_KEY_HEADER):
            if not permissions.allowed(current_channel_key(), rule.permission):  # unknown key: 401 there
                abort(403)
            return None
    if not current_user.is_authenticated:
        from web.errors import wants_json
        from web.extensions import login_manager

        return abort(401) if wants_json() else login_manager.unauthorized()
    if not permissions.allowed(current_user._get_current_object(), rule.permission):
        abort(403)
    if _session_write_to_api():  # the API blueprints are CSRF-exempt for token callers, not for the browser
        from web.extensions import csrf

        csrf.protect()  # 400 (CSRFError) unless X-CSRFToken carries the token of one of our pages
    return None


def _session_write_to_api() -> bool:
    """A write to /api made with the session cookie: no bearer token, no channel key. A cross-site page can
    make the browser send the cookie, never those headers (they need a CORS preflight we do not grant)."""
    from web.api.channels import API_KEY_HEADER

    return (current_app.config.get("WTF_CSRF_ENABLED", True)
            and request.method not in ("GET", "HEAD", "OPTIONS") and request.path.startswith("/api/")
            and not request.headers.get("Authorization", "").startswith("Bearer ")
            and not request.headers.get(API_KEY_HEADER))
