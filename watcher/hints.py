"""Webhook hints: Argilla says a record was completed, and the watcher polls now instead of later.

Polling stays the source of truth. A hint only moves the next poll forward, so a lost hint costs one
poll interval and a forged one (refused anyway: every delivery's signature is checked) costs a poll.
"""

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import argilla as rg
from standardwebhooks.webhooks import Webhook as Signature
from standardwebhooks.webhooks import WebhookVerificationError

log = logging.getLogger("alloop.watcher")

EVENTS = ["record.completed", "response.created", "response.updated"]
"""A batch is done when each record is completed, or discarded (a response, not a completion)."""
DESCRIPTION = "alloop watcher: a batch may be done"
MAX_BODY = 10 * 1024 * 1024


class HintReceiver:
    """An HTTP endpoint for Argilla's webhook deliveries; a verified one sets ``wake``."""

    def __init__(self, host: str, port: int, wake: threading.Event) -> None:
        self.wake = wake
        self.signature: Signature | None = None
        self.received = 0
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook hints")

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self, secret: str) -> None:
        self.signature = Signature(secret)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accept(self, body: bytes, headers: dict[str, str]) -> HTTPStatus:
        """Check a delivery's signature; wake the watcher for the events it listens to."""
        if self.signature is None:
            return HTTPStatus.SERVICE_UNAVAILABLE
        try:
            payload = self.signature.verify(body, headers)
        except (WebhookVerificationError, ValueError):
            log.warning("refused a webhook delivery with a bad or missing signature")
            return HTTPStatus.UNAUTHORIZED
        if isinstance(payload, dict) and payload.get("type") in EVENTS:
            self.received += 1
            self.wake.set()
        return HTTPStatus.NO_CONTENT

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY:
                    self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                    return
                body = self.rfile.read(length)
                status = receiver.accept(body, {name: value for name, value in self.headers.items()})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # one line per delivery would drown the watcher's own log

        return Handler


def register(client: rg.Argilla, url: str) -> tuple[rg.Webhook, str]:
    """Subscribe ``url`` to the events in EVENTS (replacing an earlier subscription of that URL)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK warns that webhooks are experimental
        for earlier in client.webhooks:
            if earlier.url == url:
                earlier.delete()
        webhook = rg.Webhook(url=url, events=EVENTS, description=DESCRIPTION, _client=client)
        webhook.create()
    return webhook, webhook.secret


@contextmanager
def webhook_hints(client: rg.Argilla, host: str, port: int, url: str | None) -> Iterator[threading.Event]:
    """Receive Argilla's webhooks on ``host:port`` for the block; the event they set.

    Argilla is told to deliver to ``url`` (default: this receiver's own address). When Argilla
    cannot take the subscription (a server before 2.4, say), the watcher polls only.
    """
    wake = threading.Event()
    receiver = HintReceiver(host, port, wake)
    target = url or f"http://{host}:{receiver.port}/"
    try:
        webhook, secret = register(client, target)
    except Exception as error:  # any refusal leaves polling, which is all that correctness needs
        log.warning("Argilla did not take the webhook subscription (%s); polling only", error)
        receiver.server.server_close()
        yield wake
        return
    receiver.start(secret)
    log.info("receiving Argilla's webhooks at %s (listening on %s:%d)", target, host, receiver.port)
    try:
        yield wake
    finally:
        receiver.close()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                webhook.delete()
        except Exception as error:
            log.warning("could not remove the webhook subscription of %s: %s", target, error)
