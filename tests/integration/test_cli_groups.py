"""The command line as one group per area: each group's help lists its commands, the flat names of earlier
releases still work (hidden, with a notice on stderr), and bad input ends with a non-zero exit code and a message."""
from __future__ import annotations

import pytest

from web.cli import ALIASES

pytestmark = pytest.mark.usefixtures("bundled_model_ids")  # the processes are deployed, the rows cleaned after

GROUPS = {
    "org": {"create-department", "create-user", "seed-demo"},
    "accounts": {"unlock", "set-password", "create-token", "list-tokens", "revoke-token"},
    "audit": {"verify", "seal", "prune", "export"},
    "processes": {"deploy-bundled", "deploy", "export", "list"},
    "intake": {"create-key", "revoke-key", "list-keys"},
    "exchange": {"deliver", "profile", "load-profile", "reset-profile"},
}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_groups_help_lists_its_commands(app, group: str) -> None:  # noqa: ANN001
    result = app.test_cli_runner().invoke(args=[group, "--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:", 1)[1]
    assert {line.split()[0] for line in listed.splitlines() if line.strip()} == GROUPS[group]


def test_the_top_level_lists_the_groups_not_the_old_names(app) -> None:  # noqa: ANN001
    result = app.test_cli_runner().invoke(args=["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert set(GROUPS) | {"run-scheduler", "backup", "restore", "check-consistency"} <= listed
    assert not listed & set(ALIASES)
    for old, (group, command) in ALIASES.items():  # every alias points at a command that exists
        assert command in GROUPS[group], old


def test_an_old_name_still_works_and_names_the_new_one_on_stderr(app) -> None:  # noqa: ANN001
    runner = app.test_cli_runner()
    new = runner.invoke(args=["processes", "list"])
    old = runner.invoke(args=["list-processes"])
    assert old.exit_code == 0, old.output
    assert old.stdout == new.stdout
    assert "complaint" in old.stdout
    assert old.stderr.strip() == "提示：「flask list-processes」已改为「flask processes list」，旧名称今后将停用。"
    assert new.stderr == ""

    made = runner.invoke(args=["create-channel-key", "hotline_12345", "--label", "旧脚本"])  # arguments and options
    assert made.exit_code == 0, made.output
    assert "「flask intake create-key」" in made.stderr
    listed = runner.invoke(args=["intake", "list-keys"])
    assert "hotline_12345\t旧脚本" in listed.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["processes", "export", "no-such-process", "1", "/tmp/lvyue-export"], "流程「no-such-process」没有第 1 版"),
    (["accounts", "unlock", "no-such-official"], "no-such-official"),
    (["accounts", "create-token", "no-such-official"], "没有用户 no-such-official"),
    (["intake", "revoke-key", "999999"], "渠道密钥"),
    (["org", "create-user", "someone", "--name", "某人", "--department", "no-such-dept", "--role", "intake",
      "--password", "Yunnan2026secure"], "部门"),
    (["org", "create-department", "x", "某部门", "--level", "planet", "--division", "530000"], "'planet'"),
    (["unlock", "no-such-official"], "no-such-official"),  # through an old name too
])
def test_bad_input_exits_non_zero_with_a_message(app, args: list[str], message: str) -> None:  # noqa: ANN001
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
