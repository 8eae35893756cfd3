"""Lvyue engine: everything that is true without a web server."""

from engine import validation_messages  # noqa: F401,E402 - Chinese marshmallow messages before any schema exists
