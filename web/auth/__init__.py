"""Sign-in for officials: session cookies in the browser, `Authorization: Bearer` tokens for the API."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.audit.services import record as audit
from engine.org.models import Official
from engine.org.permissions import PUBLIC, SIGNED_IN
from engine.org.security import sign_in
from engine.org.services import create_token, official_for_token
from web.extensions import db, login_manager
from web.permissions import requires

bp = Blueprint("auth", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login() -> object:
    form = LoginForm()
    if form.validate_on_submit():
        attempt = sign_in(db.session, form.username.data, form.password.data,
                          int(current_app.config["LOGIN_MAX_FAILURES"]))
        db.session.commit()  # the failure count and the audit event, whatever the outcome
        if attempt.official is None:
            form.password.errors.append(attempt.message)
        else:
            login_user(attempt.official)
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without a request
            return redirect(_safe_next(request.args.get("next")) or url_for("inbox.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@requires(SIGNED_IN)
def logout() -> object:
    audit(db.session, "logout", current_user, "official", current_user.id)
    db.session.commit()
    logout_user()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@requires(SIGNED_IN)
def profile() -> object:
    new_token = None
    if request.method == "POST":
        new_token = create_token(db.session, current_user, label=request.form.get("label", "")[:100])
        db.session.commit()
    return render_template("auth/profile.html", new_token=new_token)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"


@login_manager.user_loader
def _load_user(user_id: str) -> Official | None:
    official = db.session.get(Official, int(user_id)) if user_id.isdigit() else None
    return official if official is not None and official.is_active else None


@login_manager.request_loader
def _load_from_bearer(req: object) -> Official | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    official = official_for_token(db.session, header.removeprefix("Bearer ").strip())
    if official is not None and db.session.dirty:
        db.session.commit()  # records last use (at most every few minutes)
    return official


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None
