"""The blocking surface is derived from the async classes: every provider's, every method.

The built-in providers' clients are compared member by member with their async classes,
and a provider registered later (defined here, with a nested resource, a listing and a
start handle of its own) gets a working blocking client it never wrote.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from typing import Any, ClassVar

import attrs
import pytest

import agentcloud.providers
import agentcloud.sync
from agentcloud import Session, SessionStart, SessionStatus
from agentcloud._client import BaseClient
from agentcloud._resource import Resource
from agentcloud.models import Page
from agentcloud.pagination import OneAnswer
from agentcloud.pagination import Pager as AsyncPager
from agentcloud.providers import ProviderInfo, provider_infos
from agentcloud.sync import Pager, Started, SyncClient, wrap
from agentcloud.testing import Emulator
from tests.sync.surface import async_surface, resolve


def built_in() -> list[ProviderInfo]:
    return [info for info in provider_infos() if info.module.startswith("agentcloud.")]


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, tuple[Any, SyncClient]]]:
    """An async client and its blocking twin per built-in provider (neither ever called)."""
    with Emulator() as emu:
        made = {}
        for info in built_in():
            made[info.name] = (getattr(emu, info.name)(), wrap(getattr(emu, info.name)()))
        yield made
        for _, twin in made.values():
            twin.close()


def blocking_return(function: Any, owner: type) -> Any:
    """What the blocking twin of ``function`` should return, from its async hints."""
    hints = typing.get_type_hints(function)
    returned = hints.get("return")
    origin = typing.get_origin(returned)
    if origin is AsyncPager:
        return Pager[typing.get_args(returned)]  # type: ignore[misc]
    if origin is SessionStart:
        return Started[typing.get_args(returned)]  # type: ignore[misc]
    if isinstance(returned, typing.TypeVar):  # SessionsResource[S].wait -> S
        for base in getattr(owner, "__orig_bases__", ()):
            return typing.get_args(base)[0]
    return returned


@pytest.mark.parametrize("provider", [info.name for info in built_in()])
def test_every_public_async_method_has_a_blocking_twin(
    clients: dict[str, tuple[Any, SyncClient]], provider: str
) -> None:
    client, twin = clients[provider]
    surface = async_surface(client)
    assert surface, "the provider has no public methods?"
    for path, function in surface.items():
        owner_path, _, name = path.rpartition(".")
        owner = resolve(client, owner_path) if owner_path else client
        blocking = resolve(twin, path)
        assert callable(blocking), path
        assert not inspect.iscoroutinefunction(blocking), path
        assert blocking.__doc__ == function.__doc__, path
        expected = inspect.signature(getattr(owner, name))
        got = inspect.signature(blocking)
        assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == [
            (p.name, p.kind, p.default) for p in expected.parameters.values()
        ], path
        assert got.return_annotation == blocking_return(function, type(owner)), path


@pytest.mark.parametrize("provider", [info.name for info in built_in()])
def test_resources_properties_and_constructor_follow_the_async_client(
    clients: dict[str, tuple[Any, SyncClient]], provider: str
) -> None:
    client, twin = clients[provider]
    info = agentcloud.providers.get_provider(provider)
    kind = info.client_class()
    twin_class = getattr(agentcloud.sync, info.client)
    assert type(twin) is twin_class
    assert twin_class.__name__ == kind.__name__
    assert twin_class.__module__ == "agentcloud.sync"
    assert kind.__doc__ is not None
    assert inspect.cleandoc(kind.__doc__) in (twin_class.__doc__ or "")
    expected = list(inspect.signature(kind).parameters.values())
    got = list(inspect.signature(twin_class).parameters.values())
    assert [(p.name, p.kind, p.default) for p in got] == [
        (p.name, p.kind, p.default) for p in expected
    ]
    resources = {name for name, value in vars(client).items() if isinstance(value, Resource)}
    assert resources
    for name in resources:
        assert type(getattr(twin, name)).__name__ == type(getattr(client, name)).__name__
    for name, _ in inspect.getmembers(kind, lambda m: isinstance(m, property)):
        if not name.startswith("_"):
            assert getattr(twin, name) == getattr(client, name), name
    assert twin.base_url == client.base_url
    assert repr(twin) == repr(client)


def test_connect_and_names_come_from_the_registry(emu_env: dict[str, str]) -> None:
    for info in built_in():
        assert info.client in agentcloud.sync.__all__
        assert info.client in dir(agentcloud.sync)
    with agentcloud.sync.connect("videosdk", base_url=emu_env["URL"]) as vs:
        assert isinstance(vs, agentcloud.sync.VideoSDK)
    with pytest.raises(agentcloud.InvalidRequestError) as unknown:
        agentcloud.sync.connect("nope")
    assert unknown.value.argument == "provider"
    with pytest.raises(AttributeError):
        agentcloud.sync.NoSuchCloud  # noqa: B018


@pytest.fixture
def emu_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with Emulator() as emu:
        for name, value in emu.environment().items():
            monkeypatch.setenv(name, value)
        yield {"URL": emu.url}


# --- a provider registered later ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AcmeSession(Session):
    provider: str = "acme"
    room: str | None = None


@attrs.frozen
class AcmeThing:
    id: str
    size: int


class AcmeSessions(Resource):
    """``acme.runtime.sessions``: nested two deep."""

    _client: AcmeCloud

    def start(self, *, room: str, fail: bool = False) -> SessionStart[AcmeSession]:
        """Starts a session in ``room``."""
        client = self._client

        async def start(managed: bool) -> AcmeSession:
            if fail:
                raise agentcloud.ServerError("acme is down", status=500)
            session = AcmeSession(id=f"s{len(client.started) + 1}", room=room)
            client.started.append(session.id)
            client._held.add(session, managed=managed)
            return session

        return SessionStart(start, client._end_session, held=client._held, starts=client._starts)

    async def count(self) -> int:
        """How many were started."""
        return len(self._client.started)


class AcmeDispatch:
    """A handle of Acme's own: awaitable and an async context manager, nothing more."""

    def __init__(self, client: AcmeCloud, room: str) -> None:
        self._client = client
        self._room = room

    def __await__(self) -> Generator[Any, None, str]:
        return self._enter().__await__()

    async def _enter(self) -> str:
        self._client.dispatched.append(self._room)
        return f"dispatch in {self._room}"

    async def __aenter__(self) -> str:
        return await self._enter()

    async def __aexit__(self, *exc_info: object) -> None:
        self._client.undispatched.append(self._room)


class AcmeRuntime(Resource):
    """``acme.runtime``: a resource holding a resource."""

    _client: AcmeCloud

    def __init__(self, client: AcmeCloud) -> None:
        super().__init__(client)
        self.sessions = AcmeSessions(client)

    def dispatch(self, room: str) -> AcmeDispatch:
        """Sends an agent into ``room``."""
        return AcmeDispatch(self._client, room)


class AcmeThings(Resource):
    """``acme.things``: a read, a listing and a stream."""

    async def stream(self, count: int) -> AsyncIterator[int]:
        """``count`` numbers, one at a time."""
        for number in range(count):
            yield number

    async def get(self, thing_id: str, *, size: int = 1) -> AcmeThing:
        """One thing."""
        return AcmeThing(thing_id, size)

    def list(self, *, max_items: int | None = None) -> AsyncPager[AcmeThing]:
        """Every thing, in one answer."""

        async def request(query: Mapping[str, str]) -> Any:
            return {"things": [{"id": f"t{n}", "size": n} for n in range(5)]}

        return AsyncPager.of_style(
            request,
            OneAnswer(items="things"),
            what="things.list",
            structure=lambda raw: AcmeThing(raw["id"], raw["size"]),
            key=lambda thing: thing.id,
            per_page=100,
            max_items=max_items,
        )


class AcmeCloud(BaseClient):
    """Acme's agent cloud, from a package of its own."""

    provider: ClassVar[str] = "acme"
    default_base_url: ClassVar[str] = "https://api.acme.invalid"

    def __init__(self, token: str, *, region: str = "eu", **options: Any) -> None:
        super().__init__(secrets=[token], **options)
        self._region = region
        self.started: list[str] = []
        self.ended: list[str] = []
        self.dispatched: list[str] = []
        self.undispatched: list[str] = []
        self.things = AcmeThings(self)
        self.runtime = AcmeRuntime(self)

    @property
    def region(self) -> str:
        """Where the client's calls go."""
        return self._region

    async def ping(self, text: str) -> str:
        """Echoes ``text``."""
        return text.upper()

    async def _end_session(self, session: Session) -> object:
        self.ended.append(session.id)
        self._held.discard(session.id)
        return session


ACME = ProviderInfo(name="acme", title="Acme", module=__name__, client="AcmeCloud")


@pytest.fixture
def acme_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The registry with "acme" after the built-in providers, as an entry point adds it."""
    known = agentcloud.providers.provider_infos()
    monkeypatch.setattr(agentcloud.providers, "provider_infos", lambda: (*known, ACME))
    monkeypatch.setitem(agentcloud.providers._registry, "acme", ACME)
    yield
    vars(agentcloud.sync).pop("AcmeCloud", None)  # resolved once, then cached


def test_a_provider_registered_later_gets_a_blocking_client(acme_registered: None) -> None:
    assert "AcmeCloud" in dir(agentcloud.sync)
    twin_class = agentcloud.sync.AcmeCloud
    assert [p.name for p in inspect.signature(twin_class).parameters.values()] == [
        "token",
        "region",
        "options",
    ]
    with agentcloud.sync.connect("acme", token="t0ken", region="us") as acme:
        assert type(acme) is twin_class
        assert acme.region == "us"
        assert acme.ping("hi") == "HI"
        assert acme.things.get("t1", size=3) == AcmeThing("t1", 3)
        assert [thing.id for thing in acme.things.list(max_items=3)] == ["t0", "t1", "t2"]
        assert list(acme.things.stream(3)) == [0, 1, 2]
        assert inspect.signature(acme.things.stream).return_annotation == Iterator[int]
        pages = list(acme.things.list().pages())
        assert [len(page.items) for page in pages] == [5]
        assert isinstance(pages[0], Page)
        started = acme.runtime.sessions.start(room="r1")
        assert started.room == "r1"
        with acme.runtime.sessions.start(room="r2") as managed:
            assert managed.status is SessionStatus.UNKNOWN
        assert acme.runtime.sessions.count() == 2
        with pytest.raises(agentcloud.ServerError):
            acme.runtime.sessions.start(room="r3", fail=True)
        assert inspect.signature(acme.runtime.sessions.start).return_annotation == (
            Started[AcmeSession]
        )
        assert acme.runtime.sessions.start.__doc__ == "Starts a session in ``room``."
        direct = acme.runtime.dispatch("r4")  # any awaitable async context manager
        assert isinstance(direct, Started)
        assert direct.value == "dispatch in r4"
        with acme.runtime.dispatch("r5") as entered:
            assert entered == "dispatch in r5"
        target: AcmeCloud = acme._target
        assert (target.dispatched, target.undispatched) == (["r4", "r5"], ["r5"])
    assert target.ended == ["s2"]  # the with block's; the direct one runs on
    assert target.closed
