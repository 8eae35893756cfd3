"""One owner per transaction in web/: no view, helper or hook commits or rolls back the database session itself.

web/transaction.py commits each request once after its view (or rolls it back); command-line commands and the
scheduler own their own transactions. Everything else under web/ that calls `<…session>.commit()` or
`.rollback()` fails here."""
from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
OWNER = "transaction.py"


def _outside_requests(path: Path) -> bool:
    """Modules that are commands or the scheduler, not requests."""
    return path.name in ("cli.py", "scheduler.py") or path.name.endswith("_cli.py")


def _is_command(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A click command defined beside views (e.g. web/ops.py's check-consistency)."""
    return any("command" in ast.unparse(decorator) for decorator in function.decorator_list)


def _session_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, call) of every `<…session…>.commit()` / `.rollback()` outside a click command."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_command: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_command = in_command or _is_command(node)
        if (not in_command and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("commit", "rollback") and "session" in ast.unparse(node.func.value).lower()):
            found.append((node.lineno, ast.unparse(node)))
        for child in ast.iter_child_nodes(node):
            visit(child, in_command)

    visit(tree, False)
    return found


def test_only_the_owner_commits_or_rolls_back_a_request() -> None:
    offences = []
    for path in sorted(WEB.rglob("*.py")):
        if path.name == OWNER and path.parent == WEB or _outside_requests(path):
            continue
        for line, call in _session_calls(ast.parse(path.read_text(encoding="utf-8"))):
            offences.append(f"{path.relative_to(WEB.parent)}:{line}: {call}")
    assert not offences, ("commit and rollback belong to web/transaction.py (a view returns or raises; "
                          "@dry_run, after_commit, commit_now, start_over say the rest):\n" + "\n".join(offences))


def test_the_rule_sees_what_it_forbids() -> None:
    caught = _session_calls(ast.parse(
        "def view():\n    db.session.commit()\n    session.rollback()\n"
        "@click.command('x')\ndef command():\n    db.session.commit()\n"))
    assert [line for line, _ in caught] == [2, 3]
