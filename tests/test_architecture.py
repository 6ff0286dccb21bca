"""The layer rules of ARCHITECTURE.md, checked on the code (import-linter and the AST)."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import maskkit

PACKAGE = Path(maskkit.__file__).parent
ROOT = PACKAGE.parent


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path


def _imports(tree: ast.AST, module: str, is_package: bool):
    """``(imported module, name)`` of every ``from X import name`` in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                yield target, alias.name


def test_no_module_imports_another_modules_private_names():
    offences = []
    for module, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}  # local name -> maskkit module it stands for
        for target, name in _imports(tree, module, path.name == "__init__.py"):
            if not target.startswith("maskkit") or target == module:
                continue
            if name.startswith("_") and not name.startswith("__"):
                offences.append(f"{module}: from {target} import {name}")
            elif (PACKAGE.parent / f"{target}.{name}".replace(".", "/")).with_suffix(".py").exists():
                aliases[name] = f"{target}.{name}"
        for node in ast.walk(tree):  # module._name through an imported module
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                offences.append(f"{module}: {aliases[node.value.id]}.{node.attr}")
    assert not offences, "\n".join(offences)


@pytest.mark.skipif(shutil.which("lint-imports") is None and
                    importlib.util.find_spec("importlinter") is None,
                    reason="import-linter is not installed")
def test_layer_contracts_hold():
    # the contracts are in pyproject.toml: one-way layers, the CLI off the core and the
    # kernels, no import cycles inside a package
    run = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command;"
                          " lint_imports_command()"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout and "KEPT" in run.stdout


def test_public_api_is_the_stub():
    stub = ast.parse((PACKAGE / "__init__.pyi").read_text(encoding="utf-8"))
    declared = {a.asname or a.name for node in stub.body if isinstance(node, ast.ImportFrom)
                for a in node.names}
    assert set(maskkit.__all__) == declared | {"__version__"}
    for name in declared:
        assert getattr(maskkit, name) is not None
    # submodules live in sub-packages: importing one can never shadow a function
    importlib.import_module("maskkit.core.label")
    importlib.import_module("maskkit.core.render")
    assert callable(maskkit.label) and callable(maskkit.render)
    assert not isinstance(maskkit.label, type(maskkit))


def test_core_never_opens_files():
    # the core takes arrays: no open(), no reading or writing helpers of io
    offences = []
    for module, path in _modules():
        if not module.startswith("maskkit.core"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "open":
                offences.append(f"{module}: open() at line {node.lineno}")
    assert not offences, "\n".join(offences)
