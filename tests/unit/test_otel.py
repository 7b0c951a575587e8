"""TracingHooks: a span per call, a child per attempt, retries as events, no secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agentcloud import NotFoundError
from agentcloud.otel import TracingHooks
from agentcloud.testing import Emulator, FaultKind, FaultPlan, fake_time


@pytest.fixture
def exporter() -> Iterator[tuple[InMemorySpanExporter, TracerProvider]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory, provider
    provider.shutdown()


async def test_a_retried_call_is_one_span_with_a_child_per_attempt_and_a_retry_event(
    exporter: tuple[InMemorySpanExporter, TracerProvider],
) -> None:
    memory, provider = exporter
    hooks = TracingHooks(tracer=provider.get_tracer("test"))
    plan = FaultPlan(script=[FaultKind.SERVICE_UNAVAILABLE], paths=("/ai/v1/ai-deployments/*",))
    with fake_time():
        async with Emulator(faults=plan) as emu, emu.videosdk(hooks=[hooks]) as vs:
            deployment = await vs.deployments.get(emu.videosdk_deployment_id, "v1.0")
            secrets = [emu.videosdk_api_key, emu.videosdk_secret]
    assert deployment.id
    spans = memory.get_finished_spans()
    calls = [s for s in spans if s.kind is SpanKind.INTERNAL]
    attempts = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert [c.name for c in calls] == ["agentcloud deployments.get"]
    (call,) = calls
    assert len(attempts) == 2
    assert all(a.parent is not None and a.parent.span_id == call.context.span_id for a in attempts)
    first, second = sorted(attempts, key=lambda s: s.start_time or 0)
    assert first.attributes is not None
    assert second.attributes is not None
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["http.response.status_code"] == 200
    assert second.attributes["http.request.resend_count"] == 1
    assert "http.request.resend_count" not in first.attributes
    assert first.attributes["http.request.method"] == "GET"
    assert first.attributes["server.address"] == "127.0.0.1"
    assert isinstance(first.attributes["server.port"], int)
    assert [event.name for event in call.events] == ["retry"]
    assert call.attributes is not None
    assert call.attributes["agentcloud.attempts"] == 2
    assert call.status.status_code is not StatusCode.ERROR
    everything = repr([(s.name, dict(s.attributes or {}), s.events) for s in spans])
    for secret in secrets:
        assert secret not in everything
    assert "eyJ" not in everything  # no JWT anywhere


async def test_a_failed_call_marks_its_span_with_the_error(
    exporter: tuple[InMemorySpanExporter, TracerProvider],
) -> None:
    memory, provider = exporter
    hooks = TracingHooks(tracer=provider.get_tracer("test"))
    async with Emulator() as emu, emu.videosdk(hooks=[hooks]) as vs:
        with pytest.raises(NotFoundError):
            await vs.sessions.get("no-such-session")
    (call,) = [s for s in memory.get_finished_spans() if s.kind is SpanKind.INTERNAL]
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes is not None
    assert call.attributes["error.type"] == "404"


async def test_spans_nest_under_the_callers_span(
    exporter: tuple[InMemorySpanExporter, TracerProvider],
) -> None:
    memory, provider = exporter
    tracer = provider.get_tracer("test")
    async with Emulator() as emu, emu.videosdk(hooks=[TracingHooks(tracer=tracer)]) as vs:
        with tracer.start_as_current_span("handler") as outer:
            await vs.deployments.get(emu.videosdk_deployment_id, "v1.0")
    (call,) = [s for s in memory.get_finished_spans() if s.name.startswith("agentcloud ")]
    assert call.parent is not None
    assert call.parent.span_id == outer.get_span_context().span_id
