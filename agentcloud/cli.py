"""The ``agentcloud`` command: the SDK's operations from a shell, with no logic of its own.

Which providers exist, and the options and commands each adds, come from the registry
(each provider module's ``CLI``); nothing here names a vendor.

Exit codes, one per family of failure, so scripts can branch on them::

    0  success
    1  any other error (a decode error, an unknown start outcome, ...)
    2  usage: the command line itself is wrong
    3  input: an argument or request the SDK or vendor rejected (InvalidRequestError, 400,
       409, 413)
    4  auth: credentials missing at the vendor, wrong or not allowed (401, 403)
    5  not found (404)
    6  rate limited or unavailable (429, 5xx, connection failures, timeouts)
    7  the session failed (wait saw it fail)
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

from ._commands import Command, Option, ProviderCLI, UsageError
from ._commands import positive_int as _positive_int
from ._commands import seconds as _seconds
from ._redact import printable, redact_known
from ._version import __version__
from .errors import (
    AgentCloudError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FleetUnavailableError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SessionFailedError,
    TransportError,
)
from .models import to_jsonable

__all__ = ["EXIT_CODES", "main"]

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_UNAVAILABLE = 6
EXIT_SESSION_FAILED = 7
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (SessionFailedError, EXIT_SESSION_FAILED),
    (InvalidRequestError, EXIT_INPUT),
    (BadRequestError, EXIT_INPUT),
    (ConflictError, EXIT_INPUT),
    (PayloadTooLargeError, EXIT_INPUT),
    (AuthenticationError, EXIT_AUTH),
    (PermissionDeniedError, EXIT_AUTH),
    (NotFoundError, EXIT_NOT_FOUND),
    (RateLimitError, EXIT_UNAVAILABLE),
    (ServerError, EXIT_UNAVAILABLE),
    (TransportError, EXIT_UNAVAILABLE),
    (FleetUnavailableError, EXIT_UNAVAILABLE),
)
"""Error families and their exit codes, most specific first."""

_EXIT_HELP = """\
exit codes: 0 ok, 1 other error, 2 usage, 3 input rejected, 4 auth, 5 not found,
6 rate limited or unavailable, 7 session failed, 130 interrupted.
"""
PROVIDER_ENV = "AGENTCLOUD_PROVIDER"
BASE_URL_ENV = "AGENTCLOUD_BASE_URL"


def exit_code_for(error: BaseException) -> int:
    for family, code in EXIT_CODES:
        if isinstance(error, family):
            return code
    return EXIT_OTHER


def describe(error: BaseException) -> str:
    """One printable line naming the problem, with any secret redacted."""
    if isinstance(error, APIError):
        parts = [f"{type(error).__name__}: HTTP {error.status}"]
        if error.code is not None and error.code != str(error.status):
            parts.append(f"code {error.code}")
        parts.append(error.message)
        if error.request_id:
            parts.append(f"request id {error.request_id}")
        text = " | ".join(parts)
    else:
        text = f"{type(error).__name__}: {str(error) or type(error).__name__}"
    return " ".join(printable(redact_known(text)).split())


# --- what the registry says -------------------------------------------------------------


def _providers() -> dict[str, ProviderCLI]:
    from .providers import provider_infos

    specs: dict[str, ProviderCLI] = {}
    for info in provider_infos():
        try:
            spec = info.attribute("CLI")
        except ImportError:
            continue
        specs[info.name] = spec if isinstance(spec, ProviderCLI) else ProviderCLI()
    return specs


_SESSION_ACTIONS = ("list", "get", "start", "end", "wait")
_DEFAULT_PER_PAGE = 100


def _action_options(spec: ProviderCLI, action: str) -> tuple[Option, ...]:
    options = list(spec.client)
    if action == "list":
        options += spec.listing
    elif action == "start":
        options += spec.start
    else:
        options += spec.locate
    return tuple(options)


def _command_options(spec: ProviderCLI, command: Command) -> tuple[Option, ...]:
    return (*spec.client, *command.options)


# --- argument parsing ---------------------------------------------------------------------


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error printed as one line (and the way to more help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {printable(message)} (see {self.prog} --help)\n")


def _credentials_help(specs: dict[str, ProviderCLI]) -> str:
    lines = [_EXIT_HELP, "environment:"]
    lines.append(f"  {PROVIDER_ENV} sets the default --provider; {BASE_URL_ENV} the --base-url.")
    for name, spec in specs.items():
        variables = [*spec.credentials]
        if spec.base_url_env:
            variables.append(spec.base_url_env)
        if variables:
            lines.append(f"  {name}: {', '.join(variables)}")
    return "\n".join(lines) + "\n"


def _common(parser: argparse.ArgumentParser, providers: Sequence[str]) -> None:
    parser.add_argument(
        "--provider",
        choices=providers,
        default=os.environ.get(PROVIDER_ENV) or None,
        help=f"the agent cloud (default ${PROVIDER_ENV})",
    )
    parser.add_argument(
        "--base-url",
        help=f"scheme, host and port of the API or emulator (default ${BASE_URL_ENV}, "
        "then the provider's own variable)",
    )
    parser.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow a plain-http --base-url that is not loopback",
    )
    parser.add_argument("--timeout", type=_seconds, default=None, help="seconds for the whole call")
    parser.add_argument(
        "--format",
        choices=("jsonl", "json", "table"),
        default=None,
        help="output format (default: a table on a terminal, JSON lines otherwise)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="DEBUG logs (redacted)",
    )


def _add_provider_options(
    parser: argparse.ArgumentParser,
    per_provider: dict[str, tuple[Option, ...]],
    chosen: str | None,
) -> dict[str, set[str]]:
    """Adds each provider's options once (the chosen provider's first); returns which
    providers declare each flag."""
    owners: dict[str, set[str]] = {}
    order = sorted(per_provider, key=lambda name: name != chosen)
    added: set[str] = set()
    for provider in order:
        for option in per_provider[provider]:
            owners.setdefault(option.flag, set()).add(provider)
            if option.flag not in added:
                added.add(option.flag)
                option.add_to(parser, provider=provider)
    return owners


class _Parser:
    """The command line, built from the registry for the provider asked for (if any)."""

    def __init__(self, chosen: str | None) -> None:
        self.specs = _providers()
        self.chosen = chosen if chosen in self.specs else None
        self.owners: dict[tuple[str, str | None], dict[str, set[str]]] = {}
        names = tuple(self.specs)
        parser = _ArgumentParser(
            prog="agentcloud",
            description="Start, end, inspect, wait for and list AI agent sessions on agent clouds.",
            epilog=_credentials_help(self.specs),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--version", action="version", version=f"agentcloud {__version__}")
        parser.add_argument("-v", "--verbose", action="store_true", help="DEBUG logs (redacted)")
        commands = parser.add_subparsers(
            dest="command", metavar="COMMAND", parser_class=_ArgumentParser
        )

        commands.add_parser(
            "demo", help="walk a whole session lifecycle on every provider against an emulator"
        ).add_argument(
            "-v",
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="DEBUG logs (redacted)",
        )
        from ._emulator_cli import add_emulator_parser

        add_emulator_parser(commands)

        sessions = commands.add_parser("sessions", help="operate on sessions")
        actions = sessions.add_subparsers(
            dest="action", metavar="ACTION", parser_class=_ArgumentParser
        )
        self.groups: dict[str, argparse.ArgumentParser] = {"sessions": sessions}
        for action in _SESSION_ACTIONS:
            sub = actions.add_parser(
                action,
                help=_SESSION_HELP[action],
                epilog=_EXIT_HELP,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            _common(sub, names)
            if action == "list":
                sub.add_argument("--limit", type=_positive_int, default=None, help="stop after N")
                sub.add_argument(
                    "--per-page", type=_positive_int, default=_DEFAULT_PER_PAGE, help="page size"
                )
                sub.add_argument(
                    "--concurrency", type=_positive_int, default=1, help="pages in flight"
                )
            elif action in ("get", "end", "wait"):
                sub.add_argument("session_id")
            if action == "wait":
                sub.add_argument(
                    "--until",
                    choices=("running", "ended"),
                    default="running",
                    help="the status to wait for (default running)",
                )
            per_provider = {
                name: _action_options(spec, action) for name, spec in self.specs.items()
            }
            self.owners[("sessions", action)] = _add_provider_options(
                sub, per_provider, self.chosen
            )
        from ._fleet._cli import add_fleet_parser

        self.groups["fleet"] = add_fleet_parser(commands, names, _seconds, _EXIT_HELP)
        self._add_commands(commands, names, {"sessions": actions})
        self.parser = parser

    def _add_commands(
        self, commands: Any, names: tuple[str, ...], built_in: dict[str, Any]
    ) -> None:
        """Adds the providers' commands; an action of a group built here (``sessions``) joins
        that group, unless it is one of the group's own actions."""
        by_group: dict[str, dict[str | None, dict[str, Command]]] = {}
        for provider, spec in self.specs.items():
            for command in spec.commands:
                by_group.setdefault(command.group, {}).setdefault(command.action, {})[provider] = (
                    command
                )
        for group, actions in by_group.items():
            if group in ("demo", "emulator"):
                continue
            targets: dict[str | None, argparse.ArgumentParser] = {}
            subs = built_in.get(group)
            if subs is not None:
                actions = {
                    action: by_provider
                    for action, by_provider in actions.items()
                    if action is not None and action not in _SESSION_ACTIONS
                }
            else:
                first = next(iter(next(iter(actions.values())).values()))
                group_parser = commands.add_parser(group, help=first.help.split(":")[0])
                self.groups[group] = group_parser
            if subs is None and list(actions) == [None]:
                targets[None] = group_parser
            else:
                if subs is None:
                    subs = group_parser.add_subparsers(
                        dest="action", metavar="ACTION", parser_class=_ArgumentParser
                    )
                for action in actions:
                    by_provider = actions[action]
                    text = next(iter(by_provider.values())).help
                    targets[action] = subs.add_parser(
                        str(action),
                        help=text,
                        epilog=_EXIT_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                    )
            for action, target in targets.items():
                by_provider = actions[action]
                _common(target, tuple(by_provider))
                positionals: list[str] = []
                for command in by_provider.values():
                    for name in command.positionals:
                        if name not in positionals:
                            positionals.append(name)
                for name in positionals:
                    target.add_argument(name, nargs="?" if len(by_provider) > 1 else None)
                per_provider = {
                    provider: _command_options(self.specs[provider], command)
                    for provider, command in by_provider.items()
                }
                self.owners[(group, action)] = _add_provider_options(
                    target, per_provider, self.chosen
                )
                target.set_defaults(_commands=by_provider)


_SESSION_HELP = {
    "list": "stream the session listing",
    "get": "show one session",
    "start": "start a session and print it",
    "end": "end a session",
    "wait": "wait until a session reaches a status",
}


def _chosen_provider(argv: Sequence[str]) -> str | None:
    for index, token in enumerate(argv):
        if token == "--provider" and index + 1 < len(argv):
            return argv[index + 1]
        if token.startswith("--provider="):
            return token.split("=", 1)[1]
    return os.environ.get(PROVIDER_ENV) or None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv`` (the registry's providers, the one asked for first)."""
    return _Parser(_chosen_provider(argv)).parser


# --- running ------------------------------------------------------------------------------

_TABLE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("id", 36),
    ("status", 8),
    ("raw_status", 12),
    ("created_at", 24),
    ("ended_at", 24),
    ("duration", 8),
)


def _cell(value: Any, width: int) -> str:
    # Redacted before it is cut to the column: a cut secret no longer matches.
    text = "-" if value is None else printable(redact_known(str(value)))
    if len(text) > width:
        text = text[: width - 1] + "~"
    return text.ljust(width)


def table_header() -> str:
    return "  ".join(_cell(name.upper(), width) for name, width in _TABLE_COLUMNS).rstrip()


def table_row(item: dict[str, Any]) -> str:
    return "  ".join(_cell(item.get(name), width) for name, width in _TABLE_COLUMNS).rstrip()


class Output:
    """Where results go; a closed pipe ends the command quietly. Every line is redacted
    (a vendor may echo a credential into any field) and escaped for the terminal."""

    def __init__(
        self,
        stream: IO[str],
        *,
        format: str | None,
        single: bool,
        redact: Callable[[str], str] = redact_known,
    ) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        if format is None:
            format = ("json" if single else "table") if self.tty else "jsonl"
        self.format = format
        self._listing = not single
        # A command may print one value where a listing could have been (a provider's
        # command): then there is no list to print at the end.
        self._single_written = False
        self._buffered: list[Any] = []
        self._header_written = False
        self._redact = redact

    def _write(self, text: str) -> None:
        self.stream.write(self._redact(text) + "\n")

    def item(self, item: dict[str, Any]) -> None:
        if self.format == "jsonl":
            self._write(json.dumps(item, separators=(",", ":")))
        elif self.format == "table":
            if not self._header_written:
                self._write(table_header())
                self._header_written = True
            self._write(table_row(item))
        else:
            self._buffered.append(item)

    def single(self, item: Any) -> None:
        if self.format == "json":
            self._single_written = True
            indent = 2 if self.tty else None
            self._write(json.dumps(item, indent=indent))
        elif isinstance(item, dict):
            self.item(item)
        else:
            self._write(json.dumps(item))

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        if self.format == "json" and self._listing and not self._single_written:
            indent = 2 if self.tty else None
            self._write(json.dumps(self._buffered, indent=indent))
        self.stream.flush()


class Progress:
    """A count-and-rate line on a terminal's stderr for long listings; silent elsewhere."""

    def __init__(self, stream: IO[str], clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._enabled = stream.isatty()
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._shown = False
        self.count = 0

    def step(self, count: int = 1) -> None:
        self.count += count
        now = self._clock()
        if self._enabled and now - self._last >= 0.5:
            self._last = now
            rate = self.count / max(now - self._started, 1e-9)
            self._stream.write(f"\r{self.count} sessions, {rate:,.0f}/s ")
            self._stream.flush()
            self._shown = True

    def done(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


class _Emitter:
    """What provider commands write through: models become JSON, listings stream."""

    def __init__(self, out: Output) -> None:
        self._out = out

    def single(self, value: Any) -> None:
        self._out.single(to_jsonable(value))

    async def listing(self, pager: Any) -> None:
        progress = Progress(sys.stderr)
        try:
            async for page in pager.pages():
                for item in page.items:
                    self._out.item(to_jsonable(item))
                self._out.flush()
                progress.step(len(page.items))
        finally:
            progress.done()


def _refuse_foreign(
    args: argparse.Namespace, owners: dict[str, set[str]], provider: str, argv: Sequence[str]
) -> None:
    given = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
    for flag, declared_by in owners.items():
        if flag in given and provider not in declared_by:
            raise UsageError(
                f"{flag} is a {'/'.join(sorted(declared_by))} option, not one of {provider}"
            )


def _values(args: argparse.Namespace, options: Sequence[Option]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in options:
        value = option.value(args)
        if value is not None:
            values[option.name] = value
    return values


def _client(args: argparse.Namespace, spec: ProviderCLI, *, per_call_timeout: bool) -> Any:
    from .providers import connect

    options: dict[str, Any] = _values(args, spec.client)
    base_url = (
        args.base_url
        or os.environ.get(BASE_URL_ENV)
        or (os.environ.get(spec.base_url_env) if spec.base_url_env else None)
    )
    if base_url:
        options["base_url"] = base_url
    if args.allow_insecure:
        options["allow_insecure"] = True
    if args.timeout is not None and not per_call_timeout:
        options["timeout"] = args.timeout
    return connect(args.provider, **options)


def _accepted(method: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` without the defaults a provider's method does not take; an option the
    user gave that it does not take is a usage error."""
    parameters = inspect.signature(method).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    for name, value in kwargs.items():
        if name not in parameters and value not in (None, _DEFAULT_PER_PAGE):
            flag = {"max_items": "limit"}.get(name, name).replace("_", "-")
            raise UsageError(f"--{flag} is not supported by this provider")
    return {name: value for name, value in kwargs.items() if name in parameters}


async def _sessions(
    args: argparse.Namespace, spec: ProviderCLI, owners: dict[str, set[str]], out: Output
) -> int:
    action = args.action
    options = _action_options(spec, action)
    values = _values(args, options)
    for option in spec.client:
        values.pop(option.name, None)
    async with _client(args, spec, per_call_timeout=True) as client:
        emit = _Emitter(out)
        timeout = {"timeout": args.timeout} if args.timeout is not None else {}
        if action == "list":
            paging = {"per_page": args.per_page, "max_items": args.limit}
            if args.concurrency != 1:
                paging["concurrency"] = args.concurrency
            pager = client.sessions.list(
                **_accepted(client.sessions.list, {**paging, **values, **timeout})
            )
            await emit.listing(pager)
            out.finish()
            return EXIT_OK
        if action == "get":
            session = await client.sessions.get(args.session_id, **values, **timeout)
        elif action == "end":
            session = await client.sessions.end(args.session_id, **values, **timeout)
        elif action == "start":
            kwargs = spec.start_kwargs(values) if spec.start_kwargs else values
            session = await client.sessions.start(**kwargs, **timeout)
        else:
            session = await client.sessions.wait(
                args.session_id, until=args.until, timeout=args.timeout or 120.0, **values
            )
        emit.single(session)
        out.finish()
        return EXIT_OK


async def _provider_command(args: argparse.Namespace, spec: ProviderCLI, out: Output) -> int:
    command: Command = args._commands[args.provider]
    values = _values(args, command.options)
    for name in command.positionals:
        value = getattr(args, name, None)
        if value is None:
            raise UsageError(f"{args.command} {args.action or ''} needs {name.upper()}".strip())
        values[name] = value
    if args.timeout is not None:
        values.setdefault("timeout", args.timeout)
    async with _client(args, spec, per_call_timeout=True) as client:
        await command.run(client, values, _Emitter(out))
    out.finish()
    return EXIT_OK


async def _run(args: argparse.Namespace, parsed: _Parser, argv: Sequence[str]) -> int:
    if args.command == "demo":
        from ._demo import run_demo

        return await run_demo(sys.stdout)
    if args.command == "emulator":
        from ._emulator_cli import run_emulator_command

        return await run_emulator_command(args, sys.stdout)
    if args.command == "fleet":
        return await _fleet(args, parsed)
    if args.provider is None:
        raise UsageError(f"choose --provider {'|'.join(parsed.specs)} (or set {PROVIDER_ENV})")
    spec = parsed.specs[args.provider]
    action = getattr(args, "action", None)
    owners = parsed.owners.get((args.command, action), {})
    _refuse_foreign(args, owners, args.provider, argv)
    single = not (args.command == "sessions" and action == "list")
    out = Output(sys.stdout, format=args.format, single=single)
    if args.command == "sessions" and not hasattr(args, "_commands"):
        return await _sessions(args, spec, owners, out)
    if args.provider not in args._commands:
        raise UsageError(f"{args.provider} has no '{args.command}' command")
    out = Output(sys.stdout, format=args.format, single=False)
    return await _provider_command(args, spec, out)


async def _fleet(args: argparse.Namespace, parsed: _Parser) -> int:
    from ._fleet._cli import run_fleet_command

    out = Output(sys.stdout, format="jsonl", single=False)

    def client_of(provider: str) -> Any:
        chosen = argparse.Namespace(**{**vars(args), "provider": provider})
        return _client(chosen, parsed.specs[provider], per_call_timeout=True)

    def emit(item: dict[str, Any]) -> None:
        out.item(item)
        out.flush()

    return await run_fleet_command(args, tuple(parsed.specs), client_of, emit)


def _quiet_broken_pipe() -> NoReturn:
    # Python flushes stdout again at exit; point it at devnull so that flush cannot fail.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_OK)


class _SafeFormatter(logging.Formatter):
    """Log lines for a terminal: redacted and escaped whole, traceback included (a record
    may carry vendor text that no message built for it)."""

    def format(self, record: logging.LogRecord) -> str:
        lines = super().format(record).split("\n")
        return "\n".join(printable(redact_known(line)) for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code (the entry point exits with it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parsed = _Parser(_chosen_provider(arguments))
    args = parsed.parser.parse_args(arguments)
    if args.command is None:
        parsed.parser.print_help(sys.stderr)
        return EXIT_USAGE
    if (
        args.command in parsed.groups
        and getattr(args, "action", None) is None
        and not hasattr(args, "_commands")
    ):
        parsed.groups[args.command].print_help(sys.stderr)
        return EXIT_USAGE
    logger = logging.getLogger("agentcloud")
    handler: logging.Handler | None = None
    level = logger.level
    if getattr(args, "verbose", False):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_SafeFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        return _main(args, parsed, arguments)
    finally:
        if handler is not None:  # leave logging as we found it for the next in-process run
            logger.removeHandler(handler)
            logger.setLevel(level)


def _main(args: argparse.Namespace, parsed: _Parser, argv: Sequence[str]) -> int:
    try:
        return asyncio.run(_run(args, parsed, argv))
    except UsageError as error:
        print(f"agentcloud: {printable(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except AgentCloudError as error:
        text = describe(error)
        if isinstance(error, InvalidRequestError) and "allow_insecure=True" in text:
            text = text.replace("pass allow_insecure=True", "pass --allow-insecure")
        print(f"agentcloud: {text}", file=sys.stderr)
        return exit_code_for(error)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("agentcloud: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
