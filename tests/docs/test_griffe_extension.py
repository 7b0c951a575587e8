"""The site's griffe extension (tools/griffe_agentcloud.py): a public name without a
docstring is a warning (an error under ``mkdocs build --strict``), private and imported
names are not, and Sphinx roles become cross-references the build checks."""

from __future__ import annotations

import importlib.util
import logging
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import griffe
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _extension_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "griffe_agentcloud", ROOT / "tools" / "griffe_agentcloud.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXTENSION = _extension_module()

PACKAGE = '''
"""A package the extension looks at."""

from ._private import Hidden, helper

__all__ = ["Documented", "Bare", "function", "CONSTANT", "Hidden"]

CONSTANT = 3


class Documented:
    """Has one; so does one method, not the other."""

    def told(self) -> None:
        """Says what it does."""

    def untold(self) -> None:
        pass

    def _private(self) -> None:
        pass


class Bare:
    pass


def function() -> None:
    """See :class:`~probe_pkg.Documented` and :func:`function`::

        indented code
    """


def not_exported() -> None:
    pass
'''
PRIVATE = '''
"""Private."""


class Hidden:
    """Documented where it is defined."""

    def method(self) -> None:
        pass


def helper() -> None:
    pass
'''


def _warned(caplog: pytest.LogCaptureFixture) -> set[str]:
    return {
        record.getMessage().split()[0]
        for record in caplog.records
        if record.levelno == logging.WARNING and "has no docstring" in record.getMessage()
    }


def test_public_names_without_a_docstring_are_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    folder = tmp_path / "probe_pkg"
    folder.mkdir()
    (folder / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    (folder / "_private.py").write_text(textwrap.dedent(PRIVATE))
    sys.path.insert(0, str(tmp_path))
    try:
        extensions = griffe.load_extensions(EXTENSION.AgentcloudDocs(package="probe_pkg"))
        loaded = griffe.load("probe_pkg", search_paths=[tmp_path], extensions=extensions)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("probe_pkg")]:
            del sys.modules[name]

    assert _warned(caplog) == {
        "probe_pkg.Bare",
        "probe_pkg.CONSTANT",
        "probe_pkg.Documented.untold",
        "probe_pkg._private.Hidden.method",  # public through __all__, wherever defined
    }
    docstring = loaded["function"].docstring
    assert docstring is not None
    assert docstring.value.startswith(
        "See [`Documented`][probe_pkg.Documented] and [`function`][function]:\n"
    )


def test_the_rewrite_leaves_markdown_alone() -> None:
    text = "Plain ``code``, a [link][x] and `one`: nothing to change."
    assert EXTENSION.as_markdown(text) == text
    assert (
        EXTENSION.as_markdown(":mod:`agentcloud.hooks`") == "[`agentcloud.hooks`][agentcloud.hooks]"
    )


def test_a_simple_table_becomes_a_markdown_table() -> None:
    text = textwrap.dedent(
        """\
        The first row that matches wins:

        ==========  ===========  ======
        ``first``   second       status
        ==========  ===========  ======
        a, b,       any          FAILED
        c
        d           x | y        ENDED
                    continued
        ==========  ===========  ======

        After."""
    )
    assert EXTENSION.as_markdown(text) == textwrap.dedent(
        """\
        The first row that matches wins:

        | ``first`` | second | status |
        |---|---|---|
        | a, b, c | any | FAILED |
        | d | x \\| y continued | ENDED |

        After."""
    )
    # Borders that do not frame a header are left as they are.
    lone = "====  ====\nnot a table"
    assert EXTENSION.as_markdown(lone) == lone
