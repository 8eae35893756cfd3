"""JSON API under /api/v1 (flask-smorest): complaints and the caller's department inbox."""
from __future__ import annotations

import flask_smorest
from flask_smorest import Api

from web.inputs import BoundedParser

# Every API argument schema is also checked against the shared bounds (integers, amounts, NUL): the parser is
# bound by @blp.arguments when each module below is imported, and importing any of them imports this first.
flask_smorest.Blueprint.ARGUMENTS_PARSER = BoundedParser()


def register(api: Api) -> None:
    api.ma_plugin.converter.add_attribute_function(_numbers_as_numbers)  # before any schema is documented
    from web.api.audit import blp as audit_blp
    from web.api.bulletins import blp as bulletins_blp
    from web.api.channels import ChannelComplaintSchema
    from web.api.common import ComplaintDetailSchema
    from web.api.complaints import blp as complaints_blp
    from web.api.credit import blp as credit_blp
    from web.api.exposure import blp as exposure_blp
    from web.api.processes import blp as processes_blp
    from web.api.tasks import blp as tasks_blp
    from web.extensions import csrf

    # the two shapes of GET /complaints/{id} (officials; a channel key), referenced from its documented 200
    api.spec.components.schema("ComplaintDetail", schema=ComplaintDetailSchema)
    api.spec.components.schema("ChannelComplaint", schema=ChannelComplaintSchema)
    for blp in (complaints_blp, tasks_blp, audit_blp, credit_blp, exposure_blp, processes_blp, bulletins_blp):
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
    __import__("web.api.channels").api.channels.register(api)  # channel feed, duplicates, X-Api-Key scheme
    from web.api.oversight import blp as oversight_blp  # 调度统计

    csrf.exempt(oversight_blp)
    api.register_blueprint(oversight_blp, url_prefix="/api/v1/oversight")
    from web.api.org import blp as org_blp  # departments and users, for identity systems

    csrf.exempt(org_blp)
    api.register_blueprint(org_blp, url_prefix="/api/v1")
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "flask --app web accounts create-token USERNAME"})


def _numbers_as_numbers(_converter: object, field: object, ret: dict, **_kwargs: object) -> dict:
    """Decimal fields serialised as strings print their bounds, default and example as strings; OpenAPI wants
    numbers there."""
    from marshmallow import fields

    if not isinstance(field, fields.Decimal):
        return {}
    return {key: float(ret[key]) for key in ("minimum", "maximum", "example", "default")
            if isinstance(ret.get(key), str)}
