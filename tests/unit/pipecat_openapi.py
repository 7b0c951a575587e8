"""Pipecat Cloud's OpenAPI document, loaded once, and openapi-core checks against it.

The document's ``servers`` URL carries ``/v1`` (``/v1/public`` for the start path), so the
checks take full URLs as the SDK sends them and let openapi-core find the server and path.
``documented_examples()`` walks the document for every example response of the agents,
sessions and start paths, including the ones the document only gives field by field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict
from yarl import URL

__all__ = [
    "Example",
    "WireRequest",
    "WireResponse",
    "check_request",
    "check_response",
    "documented_examples",
    "operation_request",
    "response_schema_errors",
    "sent_requests",
    "spec",
]

SPEC_PATH = Path(__file__).parents[1] / "fixtures" / "pipecat-cloud-openapi.json"
HOST = "https://api.pipecat.daily.co"
#: Path parameter values that satisfy the document's formats (sessionId is a uuid).
PATH_VALUES = {
    "agentName": "my-agent",
    "serviceName": "my-agent",
    "sessionId": "639f91d8-d511-4677-a83b-bd7564d5d92f",
    "path": "status",
}
_METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document as JSON."""
    return json.loads(SPEC_PATH.read_text())  # type: ignore[no-any-return]


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec())


@attrs.define
class WireRequest:
    """A request as ``openapi_core.protocols.Request`` reads it."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters

    @classmethod
    def build(
        cls,
        method: str,
        url: str | URL,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> WireRequest:
        parsed = URL(url) if isinstance(url, str) else url
        return cls(
            host_url=f"{parsed.scheme}://{parsed.raw_authority}",
            path=parsed.raw_path,
            method=method.lower(),
            body=body,
            content_type="application/json",
            parameters=RequestParameters(
                query=ImmutableMultiDict(list(parsed.query.items())),
                header=Headers(dict(headers or {})),
                cookie=ImmutableMultiDict(),
            ),
        )


@attrs.define
class WireResponse:
    """A response as ``openapi_core.protocols.Response`` reads it."""

    status_code: int
    data: bytes | None
    headers: Headers = attrs.field(factory=Headers)
    content_type: str = "application/json"


def _errors_text(errors: Iterable[Exception]) -> str:
    lines = []
    for error in errors:
        lines.append(f"{type(error).__name__}: {error}")
        cause = error.__cause__
        while cause is not None:
            lines.append(f"  caused by {type(cause).__name__}: {cause}")
            cause = cause.__cause__
        for detail in getattr(error, "schema_errors", ()) or ():
            lines.append(f"  schema: {detail}")
    return "\n".join(lines)


def check_request(request: WireRequest) -> Any:
    """Asserts ``request`` matches the document; returns openapi-core's unmarshalled result."""
    result = _openapi().unmarshal_request(request)
    assert not result.errors, (
        f"{request.method.upper()} {request.path} breaks the OpenAPI document:\n"
        f"{_errors_text(result.errors)}"
    )
    return result


def _unmarshal_response(request: WireRequest, status: int, body: Any) -> Any:
    response = WireResponse(status_code=status, data=json.dumps(body).encode())
    return _openapi().unmarshal_response(request, response)


def response_schema_errors(request: WireRequest, status: int, body: Any) -> set[str]:
    """The dotted paths of the fields where ``body`` breaks its documented schema."""
    found = set()
    for error in _unmarshal_response(request, status, body).errors:
        cause = error.__cause__
        for detail in getattr(cause, "schema_errors", ()) or ():
            found.add(".".join(str(part) for part in detail.absolute_path))
    return found


def check_response(request: WireRequest, status: int, body: Any) -> Any:
    """Asserts ``body`` with ``status`` is a documented answer to ``request``."""
    result = _unmarshal_response(request, status, body)
    assert not result.errors, (
        f"{status} answer to {request.method.upper()} {request.path} breaks the document:\n"
        f"{_errors_text(result.errors)}"
    )
    return result


def sent_requests(mocked: Any) -> list[WireRequest]:
    """Every request an ``aioresponses`` mock saw, as WireRequests, in first-seen URL order."""
    requests = []
    for (method, url), calls in mocked.requests.items():
        for call in calls:
            data = call.kwargs.get("data")
            requests.append(
                WireRequest.build(
                    method,
                    url,
                    headers=call.kwargs.get("headers"),
                    body=data if isinstance(data, bytes) or data is None else str(data).encode(),
                )
            )
    return requests


@attrs.frozen
class Example:
    """One documented response: where it is, and its JSON."""

    method: str
    path: str
    operation: str
    status: int
    name: str
    body: Any

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.status}-{self.name}"


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _assembled(schema: Any) -> Any:
    """An example built from the examples the document gives field by field, or None."""
    schema = _resolve(schema)
    if not isinstance(schema, dict):
        return None
    if "example" in schema:
        return schema["example"]
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    built = {}
    for name, field in properties.items():
        value = _assembled(field)
        if value is not None:
            built[name] = value
    return built or None


def server_path(path: str, path_item: Mapping[str, Any]) -> str:
    """``path`` with its server's path prefix (``/v1`` or the path's own ``/v1/public``)."""
    servers = path_item.get("servers") or spec()["servers"]
    return str(URL(servers[0]["url"]).path).rstrip("/") + path


def operation_request(method: str, path: str) -> WireRequest:
    """A request that reaches the documented operation ``method path``, path filled in."""
    item = spec()["paths"][path]
    concrete = server_path(path, item)
    for name, value in PATH_VALUES.items():
        concrete = concrete.replace("{" + name + "}", value)
    concrete = concrete.replace("{setName}", "my-set").replace("{buildId}", "b1")
    return WireRequest.build(method, HOST + concrete, headers={"Authorization": "Bearer key"})


def documented_examples(
    prefixes: tuple[str, ...] = ("/agents", "/{agentName}/start"),
) -> Iterator[Example]:
    """Every example response of the paths under ``prefixes``.

    Named examples yield one each; a response with no example but a schema whose fields carry
    examples yields the example those fields make up (named ``assembled``).
    """
    for path, item in spec()["paths"].items():
        if not path.startswith(prefixes):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for status, response in operation.get("responses", {}).items():
                content = _resolve(response).get("content", {}).get("application/json")
                if content is None:
                    continue
                base = Example(method, path, operation["operationId"], int(status), "", None)
                if "example" in content:
                    yield attrs.evolve(base, name="example", body=content["example"])
                elif content.get("examples"):
                    for name, example in content["examples"].items():
                        yield attrs.evolve(base, name=name, body=_resolve(example)["value"])
                else:
                    assembled = _assembled(content.get("schema"))
                    if assembled is not None:
                        yield attrs.evolve(base, name="assembled", body=assembled)
