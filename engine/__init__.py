"""Lvyue engine: everything that is true without a web server."""
