"""Keeping secrets out of messages, reprs, log lines and what the command line prints.

A vendor (or a proxy in front of it) may echo anything we sent back at us: the
Authorization header in a request-id header, an API key in a session id, a JWT in an error
message. So every vendor-supplied string bound for text a human or a log may see goes
through a :class:`Redactor` first. Each client owns one that knows its credentials; model
reprs, which belong to no client, ask every live redactor (:func:`redact_known`), and a
redactor's secrets outlive it there: a model is often shown long after the client that
fetched it is gone (a function returns what it fetched). The most recent
:data:`RETIRED_SECRETS` secrets of redactors that are gone are kept for that.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable

__all__ = ["Redactor", "printable", "redact_known"]

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
#: A bearer token is RFC 6750's b64token: stopping there keeps quotes (JSON) intact.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*")
#: Where a URL carries credentials: ``scheme://user:password@host``.
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_live: weakref.WeakSet[Redactor] = weakref.WeakSet()

#: How many secrets of redactors that are gone :func:`redact_known` still removes.
RETIRED_SECRETS = 256
#: Those secrets, oldest first (repeats possible). A plain list, changed only by single
#: list operations and with no lock: a redactor is retired by the garbage collector,
#: which may run on any thread, and inside any code, this module's own included.
_retired: list[str] = []
#: The distinct ones among the last RETIRED_SECRETS, longest first: worked out when one is
#: retired (rarely), not on every error message and repr that asks (often).
_retired_longest_first: tuple[str, ...] = ()


def _retire(secrets: list[str]) -> None:
    global _retired_longest_first
    _retired.extend(secrets)
    if len(_retired) > 2 * RETIRED_SECRETS:
        del _retired[: len(_retired) - RETIRED_SECRETS]
    recent = set(_retired[-RETIRED_SECRETS:])
    _retired_longest_first = tuple(sorted(recent, key=len, reverse=True))


def _without(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (longest first, so a secret holding another goes
    whole) replaced."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


class Redactor:
    """Removes known secrets, JWTs, bearer tokens and URL credentials from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)
        _live.add(self)
        # Holds the list, not the redactor: its secrets as they are when it is collected.
        weakref.finalize(self, _retire, self._secrets)

    def add(self, secret: str | None) -> None:
        """Redacts ``secret`` from now on (values under 4 characters would hit too often)."""
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        return _patterns(self.secrets_only(text))

    def secrets_only(self, text: str) -> str:
        return _without(text, self._secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


def _patterns(text: str) -> str:
    if "eyJ" in text:
        text = _JWT.sub("[redacted-jwt]", text)
    if "@" in text:
        text = _USERINFO.sub(r"\1[redacted]@", text)
    return _BEARER.sub(r"\1[redacted]", text)


def redact_known(text: str) -> str:
    """``text`` with the secrets of every live client and of the most recent ones gone,
    and secret-shaped values, removed."""
    for redactor in list(_live):
        text = redactor.secrets_only(text)
    return _patterns(_without(text, _retired_longest_first))


def printable(text: str) -> str:
    """``text`` safe for a terminal: control and bidi characters shown as escapes."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)
