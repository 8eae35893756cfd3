"""Per-request security: response headers (CSP etc.), secure cookies outside development, client address for audit."""
from __future__ import annotations

from flask import Flask, Response, g, request

from engine.audit.services import reset_request_ip, set_request_ip

# The app's own pages need no inline script or style. bpmn-js sets SVG styles through the CSSOM, which
# CSP does not restrict, so the case diagram renders under style-src 'self' too (checked in Chromium:
# tests/integration/test_security.py::test_case_page_diagram_satisfies_the_csp_in_a_browser).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def init_app(app: Flask) -> None:
    if app.config.get("SESSION_COOKIE_SECURE") is None:  # unset: secure everywhere but development and tests
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    if app.config.get("PROXY_FIX_X_FOR"):  # behind nginx etc.: take the client address from X-Forwarded-For
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]),  # type: ignore[method-assign]
                                x_proto=int(app.config["PROXY_FIX_X_FOR"]))

    @app.before_request
    def _audit_address() -> None:
        g.audit_ip_token = set_request_ip(request.remote_addr)

    @app.teardown_request
    def _forget_address(_exc: BaseException | None) -> None:
        token = g.pop("audit_ip_token", None)
        if token is not None:
            reset_request_ip(token)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
