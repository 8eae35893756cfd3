"""Sign-in for officials: session cookies in the browser, `Authorization: Bearer` tokens for the API."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.audit.services import record as audit
from engine.errors import NotFound
from engine.org import security, sessions
from engine.org.models import Official
from engine.org.permissions import PUBLIC, SIGNED_IN
from engine.org.security import sign_in
from engine.org.services import create_token, official_for_token
from engine.throttle import Policy
from web import sessions as web_sessions
from web import transaction
from web.extensions import db, login_manager
from web.permissions import requires
from web.public import limiter

bp = Blueprint("auth", __name__, template_folder="templates")
SESSION_GENERATION = "session_generation"
LOGIN_KEY = "login_key"  # the official_session this browser signed in with (engine/org/sessions.py)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200)])


def login_policy() -> Policy:
    config = current_app.config
    return Policy(free=int(config["LOGIN_FREE_FAILURES"]), delay_seconds=int(config["LOGIN_DELAY_SECONDS"]),
                  max_delay_seconds=int(config["LOGIN_MAX_DELAY_SECONDS"]),
                  lock_after=int(config["LOGIN_MAX_FAILURES"]), lock_minutes=int(config["LOGIN_LOCK_MINUTES"]))


def _address_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _submitted_username() -> str:
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:64]


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
@limiter.limit(_address_limit, methods=["POST"])  # per client address
@limiter.limit(_account_limit, methods=["POST"], key_func=_submitted_username)  # per username, any address
def login() -> object:
    form = LoginForm()
    if form.validate_on_submit():
        attempt = sign_in(db.session, form.username.data, form.password.data, login_policy())
        # a failed sign-in's count and audit event are committed with the request's answer (web/transaction.py)
        if attempt.official is None:
            form.password.errors.append(attempt.message)
        else:
            _regenerate()  # a new session id at sign-in (no fixation)
            login_user(attempt.official)
            session[SESSION_GENERATION] = attempt.official.session_generation or 0  # see _load_user
            started = sessions.start(db.session, attempt.official, web_sessions.now(), request.remote_addr,
                                     request.user_agent.string)
            session[LOGIN_KEY] = started.key
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without a request
            return redirect(_safe_next(request.args.get("next")) or url_for("inbox.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@requires(SIGNED_IN)
def logout() -> object:
    """End this session on the server: its record and its data (a replayed cookie then signs nobody in)."""
    sessions.end(db.session, session.get(LOGIN_KEY), web_sessions.now(), "logout")
    audit(db.session, "logout", current_user, "official", current_user.id)
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    _regenerate()  # the old id's stored data is deleted; the notice goes with a new id
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@requires(SIGNED_IN)
def profile() -> object:
    new_token = None
    if request.method == "POST":
        new_token = create_token(db.session, current_user, label=request.form.get("label", "")[:100])
    return render_template("auth/profile.html", new_token=new_token,
                           tokens=security.tokens_of(db.session, current_user.username),
                           sessions=sessions.active(db.session, current_user, web_sessions.now(), *_lifetimes()),
                           current_key=session.get(LOGIN_KEY))


@bp.post("/profile/sessions/<int:session_id>/end")
@requires(SIGNED_IN)
def end_session(session_id: int) -> object:
    """End one of the caller's other sessions (another browser or device)."""
    sessions.end_one_of(db.session, current_user, session_id, web_sessions.now())
    flash("已结束该会话。", "success")
    return redirect(url_for("auth.profile") + "#sessions", 303)


@bp.post("/profile/sessions/end-others")
@requires(SIGNED_IN)
def end_other_sessions() -> object:
    """End every session of the caller except this one."""
    count = sessions.end_others(db.session, current_user, session.get(LOGIN_KEY), web_sessions.now())
    flash(f"已结束其他 {count} 个会话。", "success")
    return redirect(url_for("auth.profile") + "#sessions", 303)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@requires(SIGNED_IN)
def revoke_own_token(token_id: int) -> object:
    """Revoke one of the caller's own API tokens."""
    if token_id not in {t.id for t in security.tokens_of(db.session, current_user.username)}:
        raise NotFound("没有这个令牌")
    security.revoke_token(db.session, token_id, current_user)
    flash("已吊销该令牌。", "success")
    return redirect(url_for("auth.profile"), 303)


@bp.post("/profile/sign-out-everywhere")
@requires(SIGNED_IN)
def sign_out_everywhere() -> object:
    """End every browser session of the caller, this one included (API tokens stay: revoke them above)."""
    security.sign_out_everywhere(db.session, current_user.username, current_user)
    logout_user()
    flash("已在所有设备上退出登录，请重新登录。", "info")
    return redirect(url_for("auth.login"), 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"


@login_manager.user_loader
def _load_user(user_id: str) -> Official | None:
    """The session's official — while active and while the session's generation is theirs (sign-out everywhere,
    a new password and deactivation raise it)."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None  # a request that names a token is the token's, never the cookie's (a bad token → 401)
    official = db.session.get(Official, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
    if official is None or not official.is_active:
        return None
    if session.get(SESSION_GENERATION) != (official.session_generation or 0):
        return None
    live = sessions.check(db.session, session.get(LOGIN_KEY), official.id, web_sessions.now(), *_lifetimes())
    if db.session.dirty:
        transaction.commit_now()  # last use noted (at most once a minute), or the session ended as idle/too old
    return official if live is not None else None


def _lifetimes() -> tuple[timedelta, timedelta]:
    """(idle, absolute) lifetime of a signed-in session."""
    absolute = current_app.config["SESSION_ABSOLUTE_LIFETIME"]
    return (current_app.permanent_session_lifetime,
            absolute if isinstance(absolute, timedelta) else timedelta(seconds=int(absolute)))


def _regenerate() -> None:
    regenerate = getattr(current_app.session_interface, "regenerate", None)
    if regenerate is not None:
        regenerate(session)


@login_manager.request_loader
def _load_from_bearer(req: object) -> Official | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    official = official_for_token(db.session, header.removeprefix("Bearer ").strip())
    if official is not None and db.session.dirty:
        transaction.commit_now()  # records last use (at most every few minutes), whatever the view answers
    return official


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None
