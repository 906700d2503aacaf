"""The webhook receiver: a delivery signed with the subscription's secret wakes the watcher; no other does."""

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as Signature

from watcher.hints import HintReceiver

SECRET = "whsec_" + base64.b64encode(b"alloop-test-secret-32-bytes-long").decode()


@pytest.fixture
def receiver() -> Iterator[HintReceiver]:
    started = HintReceiver("127.0.0.1", 0, threading.Event())
    started.start(SECRET)
    yield started
    started.close()


def deliver(receiver: HintReceiver, event: str, secret: str = SECRET) -> int:
    body = json.dumps({"type": event, "version": 1, "data": {"id": "r1"}})
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signature(secret).sign("msg_1", now, body),
        "content-type": "application/json",
    }
    return httpx.post(f"http://127.0.0.1:{receiver.port}/", content=body, headers=headers).status_code


def test_a_signed_completion_wakes_the_watcher(receiver: HintReceiver) -> None:
    assert deliver(receiver, "record.completed") == 204
    assert receiver.wake.is_set() and receiver.received == 1


def test_a_delivery_signed_with_another_secret_is_refused(receiver: HintReceiver) -> None:
    forged = "whsec_" + base64.b64encode(b"someone-else-entirely-32-bytes!!").decode()
    assert deliver(receiver, "record.completed", secret=forged) == 401
    assert not receiver.wake.is_set() and receiver.received == 0


def test_an_unsigned_delivery_is_refused(receiver: HintReceiver) -> None:
    reply = httpx.post(f"http://127.0.0.1:{receiver.port}/", json={"type": "record.completed"})
    assert reply.status_code == 401
    assert not receiver.wake.is_set()


def test_events_that_cannot_finish_a_batch_do_not_wake_it(receiver: HintReceiver) -> None:
    assert deliver(receiver, "dataset.updated") == 204
    assert not receiver.wake.is_set()
