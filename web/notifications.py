"""Notification centre: the unread badge in the header (a context processor) and /notifications."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from engine.notify import services as notify
from engine.org.permissions import SIGNED_IN
from web.extensions import db
from web.permissions import requires

bp = Blueprint("notifications", __name__)

KINDS = {"reminder": "期限提醒", "escalation": "逾期督办", "info": "通知"}


@bp.app_context_processor
def unread_badge() -> dict:
    """`unread_notifications` for base.html: a function, so pages without a header never run the query."""
    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        return notify.unread_count(db.session, current_user)

    return {"unread_notifications": count}


@bp.get("/notifications")
@requires(SIGNED_IN)
def index() -> str:
    """The newest notifications for the caller's department and roles; unread ones highlighted."""
    items = notify.recent(db.session, current_user, limit=100)
    return render_template("notifications/index.html", items=items, kinds=KINDS)


@bp.post("/notifications/read")
@requires(SIGNED_IN)
def mark_read() -> object:
    """全部标为已读 (read state is shared by the department)."""
    marked = notify.mark_all_read(db.session, current_user)
    flash(f"已将 {marked} 条通知标为已读。" if marked else "没有未读通知。", "success")
    return redirect(url_for("inbox.notifications.index")), 303
