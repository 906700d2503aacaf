"""Webhook hints: Argilla says a record was completed, and the watcher polls now instead of later.

Polling stays the source of truth. A hint only moves the next poll forward, so a lost hint costs one
poll interval and a forged one (refused anyway: every delivery's signature is checked) costs a poll.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook as Signature
from standardwebhooks.webhooks import WebhookVerificationError

from common.argilla_adapter import ArgillaAdapter

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


@contextmanager
def webhook_hints(
    argilla: ArgillaAdapter, host: str, port: int, url: str | None
) -> Iterator[threading.Event]:
    """Receive Argilla's webhooks on ``host:port`` for the block; the event they set.

    Argilla is told to deliver to ``url`` (default: this receiver's own address). When Argilla
    cannot take the subscription (a server before 2.4, say), the watcher polls only.
    """
    wake = threading.Event()
    receiver = HintReceiver(host, port, wake)
    target = url or f"http://{host}:{receiver.port}/"
    try:
        subscription = argilla.subscribe(target, EVENTS, DESCRIPTION)
    except Exception as error:  # any refusal leaves polling, which is all that correctness needs
        log.warning("Argilla did not take the webhook subscription (%s); polling only", error)
        receiver.server.server_close()
        yield wake
        return
    receiver.start(subscription.secret)
    log.info("receiving Argilla's webhooks at %s (listening on %s:%d)", target, host, receiver.port)
    try:
        yield wake
    finally:
        receiver.close()
        try:
            argilla.unsubscribe(subscription)
        except Exception as error:
            log.warning("could not remove the webhook subscription of %s: %s", target, error)
