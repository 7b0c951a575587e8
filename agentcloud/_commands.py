"""How a provider describes its part of the ``agentcloud`` command, as data.

A provider module sets ``CLI = ProviderCLI(...)``: the options its client, its starts, its
listings and its session lookups take, and any commands of its own (``agents list``,
``logs``...). ``agentcloud.cli`` reads it through the registry; it holds no vendor
knowledge itself. An option given to a provider that does not declare it is a usage error,
never silently dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from .errors import InvalidRequestError

__all__ = [
    "Command",
    "UsageError",
    "Emit",
    "Option",
    "ProviderCLI",
    "json_argument",
    "key_value",
    "positive_int",
    "seconds",
    "timestamp",
]

#: The most a ``--body @FILE`` (or ``@-``) may hold.
MAX_ARGUMENT_FILE_BYTES = 1024 * 1024


class UsageError(Exception):
    """The command line is wrong in a way argparse cannot see (exit code 2)."""


@attrs.frozen(kw_only=True)
class Option:
    """One command-line option and the keyword argument it becomes.

    ``parse`` turns the text into a value (argparse's ``type``: a bad one is a usage
    error); ``convert`` does it once the command runs (a bad one is rejected input, exit 3);
    ``repeat`` collects every occurrence in a list; ``switch`` makes a flag with no value
    (True when given); ``env`` names an environment variable holding the default.
    """

    flag: str
    help: str
    dest: str | None = None
    parse: Callable[[str], Any] | None = None
    convert: Callable[[Any], Any] | None = None
    choices: tuple[str, ...] | None = None
    repeat: bool = False
    switch: bool = False
    env: str | None = None
    metavar: str | None = None

    @property
    def name(self) -> str:
        return self.dest or self.flag.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser, *, provider: str) -> None:
        options: dict[str, Any] = {"help": f"{self.help} [{provider}]", "dest": self.name}
        if self.switch:
            options.update(action="store_true", default=None)
        else:
            if self.parse is not None:
                options["type"] = self.parse
            if self.choices is not None:
                options["choices"] = self.choices
            if self.metavar is not None:
                options["metavar"] = self.metavar
            if self.repeat:
                options.update(action="append", default=None)
            else:
                options["default"] = None
        parser.add_argument(self.flag, **options)

    def value(self, namespace: argparse.Namespace) -> Any:
        given = getattr(namespace, self.name, None)
        if given is None and self.env is not None:
            given = os.environ.get(self.env) or None
        if given is not None and self.convert is not None:
            return self.convert(given)
        return given


class Emit(Protocol):
    """Where a command writes its results (the command line's output)."""

    def single(self, value: Any) -> None: ...

    async def listing(self, pager: Any) -> None: ...


@attrs.frozen(kw_only=True)
class Command:
    """A provider's own command: ``agentcloud GROUP [ACTION] ...``.

    ``run(client, values, emit)`` does the work with the provider's client; ``values``
    holds the parsed options and ``positionals`` by name. Several providers may offer the
    same group and action (``logs``): ``--provider`` picks whose runs.
    """

    group: str
    action: str | None
    help: str
    run: Callable[[Any, Mapping[str, Any], Emit], Awaitable[None]]
    options: tuple[Option, ...] = ()
    positionals: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ProviderCLI:
    """A provider's part of the command line.

    ``client`` options go to the client's constructor; ``locate`` options to every call on
    one session (get, end, wait), ``start`` and ``listing`` options to ``sessions.start``
    and ``sessions.list``. ``start_kwargs`` may turn the parsed start values into the
    keyword arguments ``start`` takes. ``credentials`` names the environment variables
    the client reads, for the help text; ``base_url_env`` holds the API's base URL.
    """

    client: tuple[Option, ...] = ()
    locate: tuple[Option, ...] = ()
    start: tuple[Option, ...] = ()
    listing: tuple[Option, ...] = ()
    start_kwargs: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    commands: tuple[Command, ...] = ()
    credentials: tuple[str, ...] = ()
    base_url_env: str | None = None


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` to a pair."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def positive_int(text: str) -> int:
    """A whole number >= 1 (a count, a page size)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def timestamp(text: str) -> datetime:
    """ISO 8601 text to a datetime; a time without a zone stays naive, and the SDK then
    refuses it as ambiguous, as it does for naive datetimes in Python."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time, got {text!r}") from None


def json_argument(argument: str) -> Callable[[str], Any]:
    """A ``convert`` for JSON options: JSON text, ``@FILE`` (a file holding it) or ``@-``
    (standard input), at most :data:`MAX_ARGUMENT_FILE_BYTES` of UTF-8; anything else is
    InvalidRequestError naming ``argument``."""

    def convert(text: str) -> Any:
        source = text
        if text.startswith("@"):
            source = _read_argument_file(argument, text[1:])
        try:
            return json.loads(source, parse_constant=_no_constant)
        except ValueError as error:
            raise InvalidRequestError(argument, f"not JSON: {error}") from None
        except RecursionError:
            raise InvalidRequestError(argument, "nested too deeply") from None

    return convert


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_argument_file(argument: str, name: str) -> str:
    try:
        if name == "-":
            raw = sys.stdin.buffer.read(MAX_ARGUMENT_FILE_BYTES + 1)
        else:
            with open(name, "rb") as handle:
                raw = handle.read(MAX_ARGUMENT_FILE_BYTES + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidRequestError(argument, f"cannot read {name!r}: {reason}") from None
    if len(raw) > MAX_ARGUMENT_FILE_BYTES:
        raise InvalidRequestError(
            argument, f"{name!r} holds more than {MAX_ARGUMENT_FILE_BYTES} bytes"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError(argument, f"{name!r} is not UTF-8 text") from None
