"""The vendor fixtures in tests/fixtures equal the reference pages they were copied from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import FIXTURES

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the reference pages are not beside the repo")
@pytest.mark.parametrize(
    "name",
    [
        "videosdk-start-session",
        "videosdk-end-session",
        "videosdk-fetch-session-details",
        "videosdk-fetch-sessions",
    ],
)
def test_videosdk_fixture_matches_the_vendor_page(name: str) -> None:
    page = (REFERENCE / f"{name}.md").read_text()
    examples = []
    for block in re.findall(r"```\n(\{.*?\})\n```", page, re.S):
        try:
            examples.append(json.loads(block))
        except ValueError:
            continue
    assert examples == [json.loads((FIXTURES / f"{name}.json").read_text())]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the reference pages are not beside the repo")
def test_openapi_fixture_matches_the_published_document() -> None:
    assert json.loads((FIXTURES / "pipecat-cloud-openapi.json").read_text()) == json.loads(
        (REFERENCE / "pipecat-cloud-openapi.json").read_text()
    )
