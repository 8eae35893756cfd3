"""部门管理 and 用户管理 (system administrators): lists, create, edit, move, deactivate/reactivate, password,
unlock, tokens. Each view parses the form, calls one engine operation (engine/org/admin.py, security.py) and
renders; refusals of the engine re-render the form with its Chinese messages."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.errors import EngineError, FormInvalid, NotFound
from engine.org import admin, security
from engine.org.models import LEVELS, ROLES
from engine.org.permissions import ADMINISTER_ORG, PERMISSIONS, ROLE_PERMISSIONS
from web.admin import bp
from web.errors import refused
from web.extensions import db
from web.forms_render import department_choices
from web.permissions import requires

PAGE = 50
STATES = {"": "全部", "active": "在用", "inactive": "已停用"}
DEPARTMENT_FORM = ("name", "level", "division_code", "prefecture_code", "superior", "uscc")


@bp.get("/departments")
@requires(ADMINISTER_ORG)
def departments() -> str:
    q, state, page = _list_args()
    rows, total = admin.list_departments(db.session, q, _active(state), PAGE, (page - 1) * PAGE)
    return render_template("admin/departments.html", rows=rows, total=total, q=q, state=state, states=STATES,
                           page=page, has_next=page * PAGE < total, levels=LEVELS)


@bp.route("/departments/new", methods=["GET", "POST"])
@requires(ADMINISTER_ORG)
@refused(lambda exc: (_department_page(None, {**_department_form(), "code": request.form.get("code", "")},
                                       exc.errors), 422), errors=(FormInvalid,))
def new_department() -> Any:
    values: dict[str, Any] = {"level": "county", "is_active": True}
    if request.method == "POST":
        dept = admin.create_department(db.session, current_user, request.form.get("code", ""), **_department_form())
        flash(f"已新增部门「{dept.name}」（{dept.code}）。", "success")
        return redirect(url_for("admin.departments", q=dept.code), 303)
    return _department_page(None, values, {})


@bp.route("/departments/<code>", methods=["GET", "POST"])
@requires(ADMINISTER_ORG)
@refused(lambda exc, code: (_department_page(admin.get_department(db.session, code), _department_form(), exc.errors),
                            422), errors=(FormInvalid,))
def edit_department(code: str) -> Any:
    dept = admin.get_department(db.session, code)
    values: dict[str, Any] = {name: getattr(dept, name, None) for name in DEPARTMENT_FORM}
    values.update(superior=dept.superior.code if dept.superior else "", is_credit_lead=dept.is_credit_lead,
                  is_active=dept.is_active)
    if request.method == "POST":
        values = _department_form()
        admin.update_department(db.session, current_user, code, **values)
        flash(f"已保存部门「{values['name']}」。", "success")
        return redirect(url_for("admin.departments", q=code), 303)
    return _department_page(dept, values, {})


@bp.get("/users")
@requires(ADMINISTER_ORG)
def users() -> str:
    q, state, page = _list_args()
    department = request.args.get("department", "").strip()[:64]
    rows, total = admin.list_officials(db.session, q, department or None, _active(state), PAGE, (page - 1) * PAGE)
    return render_template("admin/users.html", rows=security.with_locks(db.session, rows), total=total, q=q,
                           state=state, states=STATES,
                           department=department, departments=department_choices(db.session), roles=ROLES,
                           page=page, has_next=page * PAGE < total)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(ADMINISTER_ORG)
@refused(lambda exc: (_user_form_page(_new_user_form(), exc.errors), 422), errors=(FormInvalid,))
def new_user() -> Any:
    if request.method == "POST":
        errors = _password_mismatch()
        if errors:
            raise FormInvalid(errors)
        official = admin.create_official(db.session, current_user, password=request.form.get("password", ""),
                                         **_new_user_form())
        flash(f"已新增用户 {official.username}（{official.full_name}）。请将初始密码当面或经安全渠道告知本人。", "success")
        return redirect(url_for("admin.user", username=official.username), 303)
    return _user_form_page({"roles": ["official"]}, {})


def _new_user_form() -> dict[str, Any]:
    return {**{k: request.form.get(k, "").strip() for k in ("username", "full_name", "email", "department")},
            "roles": request.form.getlist("roles")}


@bp.route("/users/<username>", methods=["GET", "POST"])
@requires(ADMINISTER_ORG)
@refused(lambda exc, username: (_user_page(admin.get_official(db.session, username), _user_form(), exc.errors), 422),
         errors=(FormInvalid,))
def user(username: str) -> Any:
    """One official: edit name, e-mail and roles; and the forms for every other action."""
    official = admin.get_official(db.session, username)
    values: dict[str, Any] = {"full_name": official.full_name, "email": official.email or "",
                              "roles": list(official.roles or [])}
    if request.method == "POST":
        admin.update_official(db.session, current_user, username, **_user_form())
        flash("已保存。", "success")
        return redirect(url_for("admin.user", username=username), 303)
    return _user_page(official, values, {})


def _user_refused(exc: EngineError, username: str, **_: object) -> Any:
    """A refused action on the user page: the page again with the field errors (422), or the reason flashed."""
    if isinstance(exc, FormInvalid):
        official = admin.get_official(db.session, username)
        return _user_page(official, {"full_name": official.full_name, "email": official.email or "",
                                     "roles": list(official.roles or [])}, exc.errors), 422
    flash(exc.message, "error")
    return redirect(url_for("admin.user", username=username), 303)


user_action = refused(_user_refused, passes=(NotFound,))


@bp.post("/users/<username>/move")
@requires(ADMINISTER_ORG)
@user_action
def move_user(username: str) -> Any:
    return _act(username, lambda: admin.move_official(db.session, current_user, username,
                                                      request.form.get("department", "")),
                "已调动部门；其已认领的任务已退回原部门待办。")


@bp.post("/users/<username>/deactivate")
@requires(ADMINISTER_ORG)
@user_action
def deactivate_user(username: str) -> Any:
    return _act(username, lambda: admin.deactivate_official(db.session, current_user, username,
                                                            request.form.get("reason", "")),
                "已停用：不能再登录，访问令牌已吊销，已认领的任务已退回部门待办。办理记录保留。")


@bp.post("/users/<username>/reactivate")
@requires(ADMINISTER_ORG)
@user_action
def reactivate_user(username: str) -> Any:
    return _act(username, lambda: admin.reactivate_official(db.session, current_user, username),
                "已恢复启用。原有访问令牌仍为吊销状态，如需请重新创建。")


@bp.post("/users/<username>/password")
@requires(ADMINISTER_ORG)
@user_action
def set_user_password(username: str) -> Any:
    def run() -> object:
        errors = _password_mismatch()
        if errors:
            raise FormInvalid(errors)
        return security.set_password(db.session, username, request.form.get("password", ""), current_user)

    return _act(username, run, "已设置新密码（同时解除锁定）。请将新密码经安全渠道告知本人。")


@bp.post("/users/<username>/unlock")
@requires(ADMINISTER_ORG)
@user_action
def unlock_user(username: str) -> Any:
    return _act(username, lambda: security.unlock(db.session, username, current_user), "已解除锁定。")


@bp.post("/users/<username>/sign-out-everywhere")
@requires(ADMINISTER_ORG)
@user_action
def sign_out_user_everywhere(username: str) -> Any:
    return _act(username, lambda: security.sign_out_everywhere(db.session, username, current_user),
                "已结束该用户在所有浏览器上的登录（访问令牌不受影响）。")


@bp.post("/users/<username>/tokens/<int:token_id>/revoke")
@requires(ADMINISTER_ORG)
@user_action
def revoke_user_token(username: str, token_id: int) -> Any:
    def run() -> object:
        if token_id not in {t.id for t in security.tokens_of(db.session, username)}:
            raise NotFound("该用户没有这个令牌")
        return security.revoke_token(db.session, token_id, current_user)

    return _act(username, run, "已吊销令牌。")


# --- helpers ----------------------------------------------------------------------------------------------

def _act(username: str, action: Callable[[], object], done: str) -> Any:
    """Run one engine action for the user page and say so (a refusal: `user_action`)."""
    admin.get_official(db.session, username)  # 404 first
    action()
    flash(done, "success")
    return redirect(url_for("admin.user", username=username), 303)


def _user_form() -> dict[str, Any]:
    return {"full_name": request.form.get("full_name", ""), "email": request.form.get("email", ""),
            "roles": request.form.getlist("roles")}


def _list_args() -> tuple[str, str, int]:
    q = request.args.get("q", "").strip()[:100]
    state = request.args.get("state", "")
    return q, state if state in STATES else "", max(request.args.get("page", 1, type=int) or 1, 1)


def _active(state: str) -> bool | None:
    return {"active": True, "inactive": False}.get(state)


def _department_form() -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "").strip() for name in DEPARTMENT_FORM}
    values["is_credit_lead"] = request.form.get("is_credit_lead") == "true"
    values["is_active"] = request.form.get("is_active") == "true"  # the new-department form sends it hidden
    return values


def _department_page(dept: Any, values: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template("admin/department_form.html", dept=dept, values=values, errors=errors, levels=LEVELS,
                           departments=department_choices(db.session))


def _password_mismatch() -> dict[str, str]:
    if request.form.get("password", "") != request.form.get("password2", ""):
        return {"password2": "两次输入的密码不一致"}
    return {}


def _user_form_page(values: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template("admin/user_new.html", values=values, errors=errors, roles=ROLES,
                           departments=department_choices(db.session), role_grants=_role_grants(),
                           policy=security.POLICY_TEXT)


def _user_page(official: Any, values: dict[str, Any], errors: dict[str, str]) -> str:
    official.lock = security.lock_of(db.session, official.username)
    return render_template("admin/user.html", u=official, values=values, errors=errors, roles=ROLES,
                           departments=department_choices(db.session), role_grants=_role_grants(),
                           tokens=security.tokens_of(db.session, official.username),
                           claimed=admin.open_claims(db.session, official),
                           policy=security.POLICY_TEXT)


def _role_grants() -> dict[str, list[str]]:
    """role → the Chinese names of what it grants, for the role checkboxes."""
    return {role: [PERMISSIONS[p] for p in PERMISSIONS if p in ROLE_PERMISSIONS.get(role, ())
                   and p not in ("signed_in", "public")] for role in ROLES}
