"""Departments and users for synchronising with the province's identity systems (system administrators)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.org import admin, security
from engine.org.models import LEVELS, ROLES
from engine.org.permissions import ADMINISTER_ORG
from web.api.common import ApiErrorSchema, PageSchema, UtcDateTime, page
from web.extensions import db
from web.permissions import protect

blp = Blueprint("api_org", __name__, url_prefix="", description="组织数据：部门和用户（系统管理员；供与全省统一身份认证等系统同步）")
protect(blp, ADMINISTER_ORG)
STATES = {"active": True, "inactive": False, "all": None}


class PageQuery(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=100),
                      metadata={"description": "名称（或姓名）、代码（或用户名）包含"})
    state = fields.String(load_default="all", validate=validate.OneOf(list(STATES)),
                          metadata={"description": "active 在用 / inactive 已停用 / all 全部（默认）"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class UsersQuery(PageQuery):
    department = fields.String(load_default=None, validate=validate.Length(max=64), metadata={"description": "部门代码"})


class DepartmentSchema(Schema):
    code = fields.String(metadata={"description": "部门代码（系统内唯一、不变）", "example": "km-guandu-commerce"})
    name = fields.String(metadata={"example": "昆明市官渡区商务局"})
    uscc = fields.String(allow_none=True, metadata={"description": "统一社会信用代码", "example": None})
    level = fields.String(metadata={"description": "、".join(f"{k} {v}" for k, v in LEVELS.items()), "example": "county"})
    division_code = fields.String(metadata={"description": "行政区划代码", "example": "530111"})
    prefecture_code = fields.String(allow_none=True, metadata={"description": "所属州（市）代码", "example": "530100"})
    superior_code = fields.Function(lambda d: d.superior.code if d.superior else None, metadata={
        "description": "上级部门或主管部门的代码", "example": "km-commerce"})
    is_credit_lead = fields.Boolean(metadata={"description": "社会信用体系建设牵头单位", "example": False})
    is_active = fields.Boolean(metadata={"example": True})


class UserSchema(Schema):
    id = fields.Integer(metadata={"example": 8})
    username = fields.String(metadata={"example": "guandu-commerce"})
    full_name = fields.String(metadata={"example": "吴官渡"})
    email = fields.String(allow_none=True, metadata={"example": "guandu-commerce@lvyue.example"})
    department_code = fields.Function(lambda u: u.department.code, metadata={"example": "km-guandu-commerce"})
    roles = fields.List(fields.String(), metadata={
        "description": "角色：" + "、".join(f"{k} {v}" for k, v in ROLES.items()), "example": ["official"]})
    is_active = fields.Boolean(metadata={"description": "false：已停用（不能登录，令牌已吊销）", "example": True})
    locked = fields.Function(lambda u: u.lock is not None, metadata={
        "description": "因连续登录失败正被暂时锁定或暂停登录（到时自动解除）", "example": False})
    created_at = UtcDateTime(metadata={"example": "2026-11-28T02:15:00+00:00"})


class DepartmentPage(PageSchema):
    items = fields.List(fields.Nested(DepartmentSchema))


class UserPage(PageSchema):
    items = fields.List(fields.Nested(UserSchema))


@blp.get("/departments")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(PageQuery, location="query")
@blp.response(200, DepartmentPage)
@blp.alt_response(403, schema=ApiErrorSchema, description="不是系统管理员")
def list_departments(args: dict) -> object:
    """Departments by code, with their superior's code (page with limit/offset; total counts all matches)."""
    rows, total = admin.list_departments(db.session, args["q"], STATES[args["state"]], args["limit"], args["offset"])
    return page(rows, total)


@blp.get("/users")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(UsersQuery, location="query")
@blp.response(200, UserPage)
@blp.alt_response(403, schema=ApiErrorSchema, description="不是系统管理员")
def list_users(args: dict) -> object:
    """Officials by username with department and roles (never password hashes); paged like departments."""
    rows, total = admin.list_officials(db.session, args["q"], args["department"], STATES[args["state"]],
                                       args["limit"], args["offset"])
    return page(security.with_locks(db.session, rows), total)
