"""engine/ is true without a web server: no module under it imports Flask or web/."""
from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "flask_smorest", "flask_migrate", "web")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_engine_never_imports_flask_or_web() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 20  # the walk really covers the package
    offenders = {
        f"{path.relative_to(ENGINE.parent)}: {module}"
        for path in files
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    }
    assert offenders == set()


def test_the_check_would_notice(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom flask import request\n\ndef f():\n    import web.api\n", encoding="utf-8")
    assert imported_modules(sample) == {"os", "flask", "web.api"}
