"""Every validation message an API caller can get is Chinese: marshmallow's defaults are replaced once for the process
(engine/validation_messages.py), so a schema that names no message of its own still answers in Chinese."""
from __future__ import annotations

import inspect
import re
from typing import Any

from marshmallow import fields, validate

from engine import validation_messages

CHINESE = re.compile(r"[\u4e00-\u9fff]")
CALLERS = ("ndrc", "sysadmin", "procadmin", "intake", "km-commerce")
WRONG = {"string": 12345, "integer": "十二", "number": "许多", "boolean": "也许", "array": "不是列表",
         "object": "不是对象"}


def messages_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in messages_of(v)]
    if isinstance(value, list):
        return [m for v in value for m in messages_of(v)]
    return [str(value)]


def test_the_typical_case_withdrawal_api_answers_in_chinese(client, api) -> None:  # noqa: ANN001
    missing = api("ndrc").post("/api/v1/typical-cases/1/withdraw", json={})
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"reason": "此项为必填项"}
    too_long = api("ndrc").post("/api/v1/typical-cases/1/withdraw", json={"reason": "长" * 2001})
    assert too_long.get_json()["errors"] == {"reason": "长度应在 1–2000 个字符之间"}
    wrong = api("ndrc").post("/api/v1/typical-cases/1/withdraw", json=["reason"])
    assert wrong.status_code == 422
    assert all(CHINESE.search(m) for m in messages_of(wrong.get_json()["errors"])), wrong.get_json()
    broken = client.post("/api/v1/typical-cases/1/withdraw", data="{not json", content_type="application/json",
                         headers=api("ndrc").headers)
    assert broken.status_code == 400
    answer = broken.get_json()
    assert all(CHINESE.search(m) for m in messages_of(answer["errors"]) + [answer["message"]]), answer


def _schema(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _kind(prop: dict) -> str:
    kind = prop.get("type", "string")
    return next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind


def test_every_operation_refuses_wrong_input_in_chinese(client, api) -> None:  # noqa: ANN001
    """Each JSON body of the OpenAPI document with every field of the wrong type (and the required ones missing
    with it), each query parameter with a value of the wrong type: 422, and every message Chinese."""
    spec = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, operations in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "999999", path)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            queries = [p for p in operation.get("parameters", []) if p.get("in") == "query"
                       and _kind(_schema(spec, p.get("schema", {}))) in ("integer", "number", "boolean")
                       or (p.get("in") == "query" and _schema(spec, p.get("schema", {})).get("format") == "date")]
            if body is None and not queries:
                continue
            payload = None
            if body is not None:
                properties = _schema(spec, body["schema"]).get("properties", {})
                if not properties:
                    continue
                payload = {name: WRONG.get(_kind(_schema(spec, prop)), 12345) for name, prop in properties.items()}
            query = "&".join(f"{p['name']}=不对" for p in queries)
            target = f"{url}?{query}" if query else url
            for username in CALLERS:
                response = client.open(target, method=method.upper(), json=payload, headers=api(username).headers)
                if response.status_code not in (401, 403):
                    break
            if response.status_code in (401, 403):
                continue
            assert response.status_code in (400, 404, 422), (method, path, response.status_code, response.get_json())
            if response.status_code == 404:
                continue
            answer = response.get_json()
            texts = messages_of(answer.get("errors") or {}) + [answer["message"]]
            english = [t for t in texts if not CHINESE.search(t)]
            assert not english, (method, path, answer)
            checked += 1
    assert checked >= 20  # the sweep reached most operations


def test_no_marshmallow_default_is_left_in_english() -> None:
    validation_messages.install()  # idempotent
    for name, cls in inspect.getmembers(fields, inspect.isclass):
        if issubclass(cls, fields.Field):
            merged: dict[str, str] = {}
            for base in reversed(cls.__mro__):
                merged.update(getattr(base, "default_error_messages", {}))
            assert all(CHINESE.search(m) for m in merged.values()), (name, merged)
    for name, cls in inspect.getmembers(validate, inspect.isclass):
        texts = [v for k, v in vars(cls).items() if "message" in k and isinstance(v, str)]
        assert all(CHINESE.search(t) for t in texts), (name, texts)
