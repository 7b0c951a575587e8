"""The emulator's hand-built Daily meeting tokens are standard HS256 JWTs."""

from __future__ import annotations

import jwt

from agentcloud.testing.pipecat._tokens import hs256_jwt

SECRET = "an-emulator-token-secret-of-32-bytes!"


def test_daily_token_decodes_with_pyjwt() -> None:
    claims = {"r": "room123", "d": "cloud-abc", "exp": 4_102_444_800, "is_owner": True}
    token = hs256_jwt(claims, SECRET)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert jwt.decode(token, SECRET, algorithms=["HS256"]) == claims


def test_daily_token_is_bound_to_its_secret() -> None:
    token = hs256_jwt({"r": "room"}, SECRET)
    try:
        jwt.decode(token, SECRET + "x", algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a token verified with the wrong secret")
