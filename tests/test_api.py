"""The flat public namespace: every advertised name resolves and is documented."""

from __future__ import annotations

import inspect

import maskkit


def test_every_public_name_resolves_and_has_a_docstring():
    for name in maskkit.__all__:
        obj = getattr(maskkit, name)
        if name == "__version__":
            continue
        assert inspect.getdoc(obj), f"maskkit.{name} has no docstring"


def test_errors_are_builtin_exceptions_too():
    assert issubclass(maskkit.InvalidPolygonError, ValueError)
    assert issubclass(maskkit.MaskkitIOError, OSError)
    assert issubclass(maskkit.MaskkitTypeError, TypeError)
    for name in maskkit.__all__:
        obj = getattr(maskkit, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, maskkit.MaskkitError)


def test_version_matches_cli():
    from maskkit.cli import main

    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError):
        maskkit.no_such_function  # noqa: B018
