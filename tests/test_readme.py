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
    first = re.search(r"```bash\n(.*?)```", README, flags=re.S).group(1)
    cmds = [line for line in first.splitlines() if line and not line.startswith("#")]
    assert len(cmds) == 2
    assert "pip install ." in cmds[0] and "data/" in cmds[0]
    assert "pytest" in cmds[1]


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
