"""The README's Python example runs, and its CLI commands exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_python_blocks_run(monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_documented_subcommands_exist():
    from maskkit.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    code = "\n".join(re.findall(r"```(?:bash)?\n(.*?)```", README, flags=re.S))
    for name in set(re.findall(r"^maskkit ([a-z0-9]+)", code, flags=re.M)):
        assert name in sub.choices, f"README documents `maskkit {name}`, which does not exist"


def test_first_two_commands_are_install_and_run():
    """Two fenced blocks, one command each: install + main job on shipped data, then
    install + tests (``.ci/run`` runs the second one itself)."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)[:2]
    cmds = [[line for line in b.splitlines() if line and not line.startswith("#")]
            for b in blocks]
    assert [len(c) for c in cmds] == [1, 1]
    assert "pip install ." in cmds[0][0] and "data/" in cmds[0][0]
    assert "pytest" in cmds[1][0] and ".[test]" in cmds[1][0]
    assert "README.md" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.skipif(os.name != "posix", reason="paths")
def test_sample_data_is_what_the_generator_makes(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "data" / "make_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "OUT", tmp_path / "instances.json")
    mod.main()
    assert (tmp_path / "instances.json").read_bytes() == (
        ROOT / "data" / "sample_coco" / "instances.json").read_bytes()


# --- every flag, choice and default the README shows is what `--help` says -------------

def _readme_command_lines() -> list[str]:
    """``maskkit ...`` lines of the README's code blocks, continuation lines joined."""
    lines: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S):
        for raw in block.splitlines():
            line = raw.split("  #")[0].rstrip()
            if line.startswith((" ", "\t")) and lines and lines[-1].startswith("maskkit "):
                lines[-1] += " " + line.strip()
            elif "maskkit " in line:
                lines.append(line[line.index("maskkit "):])
    return [line for line in lines if line.startswith("maskkit ")]


def _subparser(tokens: list[str]):
    """The parser of ``maskkit TOKENS...`` (following sub-commands) and the rest."""
    import argparse

    from maskkit.cli import build_parser

    parser = build_parser()
    rest = list(tokens)
    while rest:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or rest[0] not in subs[0].choices:
            break
        parser = subs[0].choices[rest.pop(0)]
    return parser, rest


def test_readme_commands_match_help():
    lines = _readme_command_lines()
    assert len(lines) > 10
    checked = 0
    for line in lines:
        tokens = line.replace("[", " ").replace("]", " ").split()[1:]
        parser, _ = _subparser(tokens)
        options = {s: a for a in parser._actions for s in a.option_strings}
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line):
            assert flag in options, f"README: `{line}` names {flag}, which `--help` lacks"
            checked += 1
        # [--flag a|b|c]: the documented choices are the parser's
        for flag, alts in re.findall(r"\[(--[a-z][a-z0-9-]*) ([a-z0-9_]+(?:\|[a-z0-9_]+)+)\]", line):
            action = options[flag]
            assert action.choices is not None, f"{flag} takes no fixed choices"
            assert set(alts.split("|")) == {str(c) for c in action.choices}, (line, flag)
        # [--flag N]: a number shown in brackets is the default
        for flag, value in re.findall(r"\[(--[a-z][a-z0-9-]*) (-?[0-9.]+)\]", line):
            default = options[flag].default
            if isinstance(default, (list, tuple)) and len(default) == 1:
                default = default[0]
            assert default is not None and float(value) == float(default), (
                f"README shows `{flag} {value}` for `{line.split()[1]}`; the default is {default!r}")
    assert checked > 20
