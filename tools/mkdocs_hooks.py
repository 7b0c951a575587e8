"""MkDocs hooks of agentcloud's site: the command-line reference, written from the parser.

``docs/reference/cli.md`` holds the marker below; the build replaces it with the help of
``agentcloud`` and of every subcommand, as ``agentcloud ... --help`` prints it, so the page
cannot drift from the command.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any

CLI_MARKER = "<!-- agentcloud-cli-usage -->"
#: Help is wrapped as on a terminal this wide, whatever terminal builds the site.
HELP_WIDTH = 100


def _commands(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, str]]:
    yield name, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _commands(sub, f"{name} {sub_name}")


def cli_usage() -> str:
    """Markdown: one section per command, its ``--help`` in a code block."""
    from agentcloud.cli import _Parser

    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        commands = list(_commands(_Parser(None).parser, "agentcloud"))
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    sections = [f"## `{name}`\n\n```text\n{text.rstrip()}\n```\n" for name, text in commands]
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Writes the command-line reference into the page that asks for it."""
    if CLI_MARKER in markdown:
        return markdown.replace(CLI_MARKER, cli_usage())
    return markdown
