"""The command table: both parsers are built from it, and the docs list what it holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyter_mlvc import cli, magics
from jupyter_mlvc.commands import CLI, COMMANDS, MAGIC, attach_signed_values, commands_for

DOCS = Path(__file__).parents[1] / "docs" / "magics.md"


def test_every_command_of_a_face_has_a_parser_and_a_handler():
    magic = magics.build_parser()
    line = cli.build_parser()
    assert set(magic.commands) == {c.name for c in commands_for(MAGIC)}
    assert set(line.commands) == {c.name for c in commands_for(CLI)} == set(cli.HANDLERS)
    for command in commands_for(MAGIC):
        assert hasattr(magics.MlvcMagics, f"_cmd_{command.name}"), command.name
    assert tuple(c.name for c in commands_for(MAGIC)) == magics.COMMANDS


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.faces == {MAGIC, CLI}])
def test_a_shared_command_takes_the_same_options_in_both_faces(command):
    def options(face: str) -> set[str]:
        parser = (magics.build_parser() if face == MAGIC else cli.build_parser()).commands
        return {
            flag
            for action in parser[command.name]._actions
            for flag in action.option_strings
            if flag not in ("-h", "--help")
        }

    only_cli = {f for a in command.args if a.faces == {CLI} for f in a.flags}
    only_magic = {f for a in command.args if a.faces == {MAGIC} for f in a.flags}
    assert options(MAGIC) - only_magic == options(CLI) - only_cli


def test_help_comes_from_the_table(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in commands_for(CLI):
        assert command.name in out and command.help.split("(")[0].strip() in out
    text = magics.full_help()
    for command in commands_for(MAGIC):
        assert f"  {command.name:<10}{command.help}" in text


def test_signed_values_are_attached_for_both_faces():
    assert attach_signed_values(["log", "--sort", "-loss"], MAGIC) == ["log", "--sort=-loss"]
    assert attach_signed_values(["log", "--sort", "--all"], CLI) == ["log", "--sort", "--all"]
    args = cli.build_parser().parse_args(["log", "--sort", "-loss"])
    assert args.sort == "-loss"


def test_the_docs_list_every_magic_command_and_option():
    rows = [line for line in DOCS.read_text().splitlines() if line.startswith("| `%")]
    for command in commands_for(MAGIC):
        mine = [r for r in rows if re.match(rf"\| `%%?mlvc {command.name}\b", r)]
        assert mine, f"docs/magics.md lists no %mlvc {command.name}"
        for a in command.args_for(MAGIC):
            if a.flags[0].startswith("-"):
                shown = any(f"{flag} " in r or f"{flag}]" in r for flag in a.flags for r in mine)
                assert shown, f"docs/magics.md: %mlvc {command.name} {a.flags[-1]}"
