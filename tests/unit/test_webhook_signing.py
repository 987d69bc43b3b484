"""The X-Signature scheme receivers verify: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>, and the
JSON envelope it covers."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

from application.ports import OutboxEvent
from infrastructure.outbox.envelope import event_body
from infrastructure.outbox.signing import sign, verify

SECRET = "s3cret"
BODY = b'{"id":"1","type":"complaint.filed"}'
T = 1_700_000_000


def test_the_header_is_the_documented_hmac() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"t={T},v1={expected}"


def test_a_receiver_accepts_a_fresh_signature() -> None:
    assert verify(SECRET, sign(SECRET, T, BODY), BODY, now=T + 30)


def test_tampering_another_secret_or_a_stale_time_is_refused() -> None:
    header = sign(SECRET, T, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=T)
    assert not verify("other", header, BODY, now=T)
    assert not verify(SECRET, header, BODY, now=T + 301)  # replayed later
    assert not verify(SECRET, header.replace(f"t={T}", f"t={T + 100}"), BODY, now=T + 100)  # re-timed
    assert not verify(SECRET, "garbage", BODY, now=T)
    assert not verify(SECRET, "t=abc,v1=00", BODY, now=T)


def test_several_v1_values_are_allowed_for_secret_rotation() -> None:
    header = sign(SECRET, T, BODY) + ",v1=" + "0" * 64
    assert verify(SECRET, header, BODY, now=T)


def test_the_envelope() -> None:
    event = OutboxEvent(position=7, id=uuid.uuid4(), type="complaint.filed", aggregate_type="complaint",
                        aggregate_id=uuid.uuid4(), occurred_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
                        payload={"subject": "Käse", "n": 1}, actor_id=None)
    body = event_body(event)
    assert json.loads(body) == {"id": str(event.id), "type": "complaint.filed", "aggregateType": "complaint",
                                "aggregateId": str(event.aggregate_id), "occurredAt": "2025-01-02T03:04:05+00:00",
                                "actorId": None, "sequence": 7, "payload": {"subject": "Käse", "n": 1}}
    assert b" " not in body.replace("Käse".encode(), b"")  # compact: the signed bytes are the sent bytes
