"""Process administration pages (process_admin, sysadmin): versions with open cases, and the bpmn-js modeler.

The pages only render; the modeler loads and deploys through the JSON API (/api/v1/processes...).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.cases.disclosure import Disclosure
from engine.errors import EngineError, FormInvalid
from engine.org.models import ROLES
from engine.org.permissions import ADMINISTER_PROCESSES
from engine.org.services import active_departments
from engine.workflow import admin, lane_roles, repair
from engine.workflow.models import ProcessInstance
from web.errors import refusal_message, refused
from web.extensions import db
from web.permissions import may, protect

bp = Blueprint("processes", __name__, url_prefix="/processes")
protect(bp, ADMINISTER_PROCESSES)  # every page here: process administrators and system administrators


def may_administer_processes() -> bool:
    """For templates: the header link and the 处理 links of troubled cases."""
    return may(ADMINISTER_PROCESSES)


@bp.get("/")
def index() -> str:
    """Process models, their versions (who, when, why) and how many open cases run on each."""
    return render_template("processes/index.html", processes=admin.list_models(db.session),
                           attention=admin.instances_needing_attention(db.session), labels=repair.STATUS_LABELS)


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


@bp.get("/instances/<int:instance_id>")
def instance(instance_id: int) -> str:
    """One case's process: status and error, current steps (skip), earlier steps (退回), repair forms, log."""
    found = repair.get_instance(db.session, instance_id)
    return render_template("processes/instance.html", instance=found, steps=repair.steps(db.session, found),
                           log=Disclosure(db.session, current_user).views(repair.operation_log(db.session, found.id)),
                           labels=repair.STATUS_LABELS)


REPAIRS = {"suspend": "挂起", "resume": "恢复", "retry": "重试", "skip": "跳过", "move_back": "退回"}


def _instance_refused(prefix: Callable[..., str], reason: Callable[[EngineError], str] = refusal_message
                      ) -> Callable[..., object]:
    """A refused action on the instance page: `reason(exc)` flashed after `prefix(**view_args)`, back to the page."""
    def answer(exc: EngineError, instance_id: int, **view_args: str) -> object:
        flash(prefix(**view_args) + reason(exc), "error")
        return redirect(url_for("processes.instance", instance_id=instance_id), 303)

    return answer


@bp.post("/instances/<int:instance_id>/<action>")
@refused(_instance_refused(lambda action: f"{REPAIRS.get(action, action)}未执行：", lambda exc: exc.message), passes=())
def repair_instance(instance_id: int, action: str) -> object:
    """Run one repair action from the instance page; errors come back as a flash message."""
    if action not in REPAIRS:
        abort(404)
    extra = {"task_id": request.form.get("task_id", "")} if action in ("skip", "move_back") else {}
    getattr(repair, action)(db.session, instance_id, actor=current_user, reason=request.form.get("reason", ""), **extra)
    found = repair.get_instance(db.session, instance_id)
    note = f"，但后续步骤出错：{found.error}" if found.status == "error" else ""
    flash(f"已{REPAIRS[action]}（当前状态：{repair.STATUS_LABELS.get(found.status, found.status)}）{note}",
          "warning" if note else "success")
    return redirect(url_for("processes.instance", instance_id=instance_id), 303)


@bp.post("/instances/<int:instance_id>/scenario")
@refused(_instance_refused(lambda: "未保存："), passes=())
def save_scenario(instance_id: int) -> object:
    """Keep a finished case's path as a scenario of its process (engine/workflow/scenarios.py)."""
    from engine.workflow import scenarios

    verdict = scenarios.from_instance(db.session, instance_id, request.form.get("name", ""), current_user,
                                      request.form.get("description", ""))
    flash(f"已保存场景「{verdict.scenario.name}」（在最新版本上：{verdict.as_dict()['status_label']}）。"
          "以后部署该流程的新版本前都会试运行它。", "success")
    return redirect(url_for("processes.instance", instance_id=instance_id), 303)


SCENARIO_SOURCES = {"bundle": "随流程文件", "upload": "部署时提交", "case": "由案件保存"}


@bp.get("/<key>/scenarios")
def scenarios_page(key: str) -> str:
    """The scenarios kept for a process, each with a delete button behind a confirmation."""
    from engine.workflow import scenarios, specs

    model = specs.latest(db.session, key)
    return render_template("processes/scenarios.html", key=key, process_name=model.name or key,
                           scenarios=scenarios.kept(db.session, key), sources=SCENARIO_SOURCES)


def _scenario_refused(exc: EngineError, key: str) -> object:
    flash("未删除：" + refusal_message(exc), "error")
    return redirect(url_for("processes.scenarios_page", key=key), 303)


@bp.post("/<key>/scenarios/delete")
@refused(_scenario_refused, passes=())
def delete_scenario(key: str) -> object:
    """Delete one kept scenario (engine/workflow/scenarios.py: forget, audited)."""
    from engine.workflow import scenarios

    name = request.form.get("name", "")
    scenarios.forget(db.session, key, name, current_user.username)
    flash(f"已删除场景「{name}」，以后部署和试运行不再运行它。", "success")
    return redirect(url_for("processes.scenarios_page", key=key), 303)


def case_process_trouble(complaint_id: int) -> ProcessInstance | None:
    """The case's process instance when it is in `error` or `suspended` (shown on the case page)."""
    return admin.trouble_of(db.session, complaint_id)


LANE_ROLE_FORM = ("name", "label", "department_code", "required_role")


@bp.route("/lane-roles", methods=["GET", "POST"])
@refused(lambda exc: _lane_roles_page(_posted(LANE_ROLE_FORM), exc.errors), errors=(FormInvalid,))
def lane_role_list() -> object:
    """Lane roles administrators defined (each mapped to a department), the built-in ones, and a form for a new one."""
    if request.method != "POST":
        return _lane_roles_page(dict.fromkeys(LANE_ROLE_FORM, ""), {})
    role = lane_roles.create_role(db.session, lane_roles.LaneRoleInput(**_posted(LANE_ROLE_FORM)), current_user)
    flash(f"已新增泳道角色「{role.name}」（{role.department.name}）。流程图中的泳道可以使用此名称。", "success")
    return redirect(url_for("processes.lane_role_list"), 303)


def _posted(names: tuple[str, ...]) -> dict[str, str]:
    return {name: (request.form.get(name) or "").strip() for name in names}


def _lane_roles_page(values: dict[str, str], errors: dict[str, str]) -> object:
    return render_template("processes/lane_roles.html", **_lane_role_page(), values=values, errors=errors,
                           role=None), 422 if errors else 200


@bp.route("/lane-roles/<int:role_id>", methods=["GET", "POST"])
@refused(lambda exc, role_id: _lane_role_edit_page(role_id, _posted_role(role_id), exc.errors), errors=(FormInvalid,))
def lane_role_edit(role_id: int) -> object:
    """Change a defined role's label, department, required official role, or deactivate it."""
    role = lane_roles.get_role(db.session, role_id)
    if request.method != "POST":
        return _lane_role_edit_page(role_id, {
            "name": role.name, "label": role.label, "department_code": role.department.code,
            "required_role": role.required_role or "", "is_active": role.is_active}, {})
    lane_roles.update_role(db.session, role_id, lane_roles.LaneRoleInput(**_posted_role(role_id)), current_user)
    flash(f"已保存泳道角色「{role.name}」。此后新出现的任务按新设置分派，已分派的任务不变。", "success")
    return redirect(url_for("processes.lane_role_list"), 303)


def _posted_role(role_id: int) -> dict[str, object]:
    return {**_posted(("label", "department_code", "required_role")),
            "name": lane_roles.get_role(db.session, role_id).name, "is_active": request.form.get("is_active") == "on"}


def _lane_role_edit_page(role_id: int, values: dict[str, object], errors: dict[str, str]) -> object:
    return render_template("processes/lane_role_edit.html", **_lane_role_page(), values=values, errors=errors,
                           role=lane_roles.get_role(db.session, role_id)), 422 if errors else 200


def _lane_role_page() -> dict[str, object]:
    departments = active_departments(db.session)
    builtin = [lane for lane in lane_roles.known_lanes(db.session) if lane["kind"] == "builtin"]
    return {"roles": lane_roles.list_roles(db.session), "builtin": builtin, "departments": departments,
            "official_roles": ROLES}


def case_process_finished(complaint_id: int) -> ProcessInstance | None:
    """The case's finished process instance, for the 保存为场景 link process administrators see on the case page."""
    return admin.finished_of(db.session, complaint_id) if may_administer_processes() else None


def init_app(app: Flask) -> None:
    from web.processes import tools  # noqa: F401 - form preview, version diff, migration pages on this blueprint

    app.register_blueprint(bp)
    app.jinja_env.globals["may_administer_processes"] = may_administer_processes
    app.jinja_env.globals["case_process_trouble"] = case_process_trouble
    app.jinja_env.globals["case_process_finished"] = case_process_finished
