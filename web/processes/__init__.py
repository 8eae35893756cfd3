"""Process administration pages (process_admin, sysadmin): versions with open cases, and the bpmn-js modeler.

The pages only render; the modeler loads and deploys through the JSON API (/api/v1/processes...).
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, render_template, url_for
from flask_login import current_user, login_required

from engine.workflow import admin
from web.extensions import db

bp = Blueprint("processes", __name__, url_prefix="/processes")
ADMIN_ROLES = ("process_admin", "sysadmin")


def may_administer_processes() -> bool:
    return current_user.is_authenticated and any(current_user.has_role(r) for r in ADMIN_ROLES)


@bp.before_request
@login_required
def _only_process_administrators() -> None:
    if not may_administer_processes():
        abort(403)


@bp.get("/")
def index() -> str:
    """Process models, their versions (who, when, why) and how many open cases run on each."""
    return render_template("processes/index.html", processes=admin.list_models(db.session))


@bp.get("/<key>/versions/<int:version>/edit")
def edit(key: str, version: int) -> str:
    """The modeler, opened on one version; deploying creates the next version."""
    model = admin.get_version(db.session, key, version)
    return render_template(
        "processes/modeler.html", model=model,
        version_url=url_for("api_processes.get_version", key=key, version=version),
        deploy_url=url_for("api_processes.deploy"), index_url=url_for("processes.index"))


@bp.get("/new")
def new() -> str:
    """The modeler on an empty diagram."""
    return render_template("processes/modeler.html", model=None, version_url="",
                           deploy_url=url_for("api_processes.deploy"), index_url=url_for("processes.index"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["may_administer_processes"] = may_administer_processes
