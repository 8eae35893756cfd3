"""Process administration tools on the `processes` blueprint: form preview, version diff, migration page.

Access is the blueprint's (process administrators and system administrators). Views only parse and render;
the diff is computed in engine/workflow/diff.py, migration runs through the JSON API the page calls.
"""
from __future__ import annotations

import json

from flask import abort, jsonify, render_template, request, url_for

from engine.workflow import admin, diff
from web.extensions import db
from web.forms_render import build_fields, department_choices
from web.processes import bp


@bp.post("/form-preview")
def form_preview() -> object:
    """The form a JSON Schema renders to (as officials will see it) and the problems deploy would report."""
    body = request.get_json(silent=True) or {}
    schema = body.get("schema")
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            return jsonify({"html": "", "problems": [f"不是有效的 JSON：{exc}"]})
    problems = admin.form_problems(schema)
    if not isinstance(schema, dict) or any(p.startswith("不是有效") for p in problems):
        return jsonify({"html": "", "problems": problems})
    fields = build_fields(schema, departments=department_choices(db.session))
    return jsonify({"html": render_template("processes/_form_preview.html", schema=schema, fields=fields),
                    "problems": problems})


def _versions(key: str) -> tuple[list[int], int, int]:
    """Known versions of `key` and the pair asked for (default: the newest against the one before)."""
    entry = next((p for p in admin.list_models(db.session) if p["key"] == key), None)
    if entry is None:
        abort(404)
    known = [v["version"] for v in entry["versions"]]
    to_version = request.args.get("to", type=int) or known[0]
    from_version = request.args.get("from", type=int) or max([v for v in known if v < to_version] or [to_version])
    if from_version not in known or to_version not in known:
        abort(404)
    return known, from_version, to_version


@bp.get("/<key>/diff")
def version_diff(key: str) -> str:
    """Two versions side by side, added/removed/changed elements highlighted, and the list of changes."""
    known, from_version, to_version = _versions(key)
    result = diff.diff_versions(db.session, key, from_version, to_version)
    return render_template(
        "processes/diff.html", key=key, known=known, result=result,
        from_url=url_for("api_processes.get_version", key=key, version=from_version),
        to_url=url_for("api_processes.get_version", key=key, version=to_version),
        data_url=url_for("processes.version_diff_data", key=key, **{"from": from_version, "to": to_version}))


@bp.get("/<key>/diff.json")
def version_diff_data(key: str) -> object:
    """The diff as JSON: elements added/removed/changed (with aspects), forms and tables added/removed/changed."""
    _, from_version, to_version = _versions(key)
    return jsonify(diff.diff_versions(db.session, key, from_version, to_version))


@bp.get("/<key>/migrate")
def migrate_page(key: str) -> str:
    """Pick source and target versions and cases; the page previews and migrates in batches with progress."""
    entry = next((p for p in admin.list_models(db.session) if p["key"] == key), None)
    if entry is None:
        abort(404)
    versions = entry["versions"]
    by_id = {v["id"]: v for v in versions}
    source_id = request.args.get("source", type=int) or next(
        (v["id"] for v in versions[1:] if v["open_cases"]), versions[-1]["id"])
    target_id = request.args.get("target", type=int) or versions[0]["id"]
    if source_id not in by_id or target_id not in by_id:
        abort(404)
    return render_template(
        "processes/migrate.html", key=key, name=entry["name"], versions=versions, source=by_id[source_id],
        target=by_id[target_id], instances=admin.open_instances(db.session, source_id),
        preview_url=url_for("api_processes.preview_migration"), migrate_url=url_for("api_processes.run_migration"))
