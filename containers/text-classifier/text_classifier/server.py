"""`serve`: the SageMaker inference HTTP server (stdlib only).

    GET  /ping                  200 once the model is loaded
    GET  /execution-parameters  batch transform defaults (MultiRecord, 6 MB, 1 concurrent transform)
    POST /invocations           JSON Lines in, JSON Lines out: one output line per input line, same order

The model is loaded from $OPT_ML_DIR/model before the port ($SAGEMAKER_BIND_TO_PORT, default 8080) is
opened. SIGTERM (and SIGINT) stop accepting requests, let the requests in flight finish (up to 30 s) and
exit 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import __version__, paths
from .model import Bundle, ModelError, RecordError, load, parse_lines

LOG = logging.getLogger("text_classifier.serve")
JSONLINES = "application/jsonlines"
JSONLINES_TYPES = frozenset({"application/jsonlines", "application/json-lines", "application/x-jsonlines"})
ACCEPTED_OUTPUT = JSONLINES_TYPES | {"*/*", "application/*"}
DEFAULT_MAX_PAYLOAD_MB = 6
MB = 1024 * 1024
SLACK_BYTES = 256 * 1024
DRAIN_SECONDS = 30.0


def max_body_bytes(environ: dict[str, str]) -> int:
    """6 MB (SageMaker's real-time payload limit) or the batch job's MaxPayloadInMB, whichever is larger,
    plus a little slack for the request's own framing."""
    try:
        mb = int(environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB") or DEFAULT_MAX_PAYLOAD_MB)
    except ValueError:
        mb = DEFAULT_MAX_PAYLOAD_MB
    if mb <= 0:  # MaxPayloadInMB 0: no limit from SageMaker; keep a sane one
        mb = 100
    return max(mb, DEFAULT_MAX_PAYLOAD_MB) * MB + SLACK_BYTES


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def accepts_jsonlines(header: str | None) -> bool:
    if not header or not header.strip():
        return True
    return any(media_type(part) in ACCEPTED_OUTPUT for part in header.split(","))


def split_body(body: bytes) -> list[bytes]:
    """Lines of a JSON Lines body, without the final newline(s). Blank lines in between are kept (and then
    rejected): a line must never be dropped, or outputs would be joined to the wrong inputs."""
    lines = body.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def records_of(body: bytes) -> list[Any]:
    lines = split_body(body)
    try:
        return parse_lines(lines)
    except RecordError:
        if len(lines) > 1:  # one pretty-printed JSON object (SplitType None) is one record too
            try:
                whole = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                whole = None
            if isinstance(whole, dict):
                return [whole]
        raise


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], bundle: Bundle, max_body: int):
        super().__init__(address, Handler)
        self.bundle = bundle
        self.max_body = max_body
        self.stopping = False
        self._busy = 0
        self._idle = threading.Condition()

    def stop(self) -> None:
        """Stop serve_forever (from another thread than the one running it); open connections are closed
        after their current request."""
        self.stopping = True
        self.shutdown()

    def begin(self) -> None:
        with self._idle:
            self._busy += 1

    def end(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until no request is being processed; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"text-classifier/{__version__}"
    server: ModelServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        LOG.info("%s %s", self.address_string(), format % args)

    def _send(
        self, status: int, body: bytes = b"", content_type: str = "application/json", close: bool = False
    ) -> None:
        self.send_response(status)
        if body or status not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        if close or self.server.stopping:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, *, line: int | None = None, close: bool = False) -> None:
        payload: dict[str, Any] = {"error": message}
        if line is not None:
            payload["line"] = line
        self._send(status, json.dumps(payload).encode("utf-8") + b"\n", close=close)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path
        if path == "/ping":
            if self.server.bundle is None:
                self._error(HTTPStatus.SERVICE_UNAVAILABLE, "model not loaded")
            else:
                self._send(HTTPStatus.OK, b'{"status":"ok"}\n')
        elif path == "/execution-parameters":
            body = {
                "MaxConcurrentTransforms": 1,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": DEFAULT_MAX_PAYLOAD_MB,
            }
            self._send(HTTPStatus.OK, json.dumps(body).encode("utf-8"))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such resource: GET {path}")

    def _read_body(self) -> bytes | None:
        """The request body, or None after an error response (413 or 400)."""
        limit = self.server.max_body
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
            while True:
                header = self.rfile.readline(1024)
                try:
                    length = int(header.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self._error(HTTPStatus.BAD_REQUEST, "malformed chunked body", close=True)
                    return None
                if length == 0:
                    while self.rfile.readline(1024).strip():  # trailers
                        pass
                    return b"".join(chunks)
                size += length
                if size > limit:
                    self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body larger than {limit} bytes", close=True)
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline(16)  # CRLF after the chunk
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, f"invalid Content-Length {raw!r}", close=True)
            return None
        if length > limit:
            self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"body of {length} bytes is larger than the limit of {limit} bytes",
                close=True,
            )
            return None
        return self.rfile.read(length)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path
        if path != "/invocations":
            self._error(HTTPStatus.NOT_FOUND, f"no such resource: POST {path}", close=True)
            return
        content_type = media_type(self.headers.get("Content-Type"))
        if content_type not in JSONLINES_TYPES:
            self._error(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"unsupported Content-Type {content_type or '(none)'!r}; send {JSONLINES} "
                '(one JSON object with a string "source" per line)',
                close=True,
            )
            return
        if not accepts_jsonlines(self.headers.get("Accept")):
            self._error(
                HTTPStatus.NOT_ACCEPTABLE,
                f"cannot produce {self.headers.get('Accept')!r}; this model answers {JSONLINES}",
                close=True,
            )
            return
        body = self._read_body()
        if body is None:
            return
        if not body.strip():
            self._send(HTTPStatus.NO_CONTENT)
            return
        self.server.begin()
        started = time.perf_counter()
        try:
            try:
                outputs = self.server.bundle.predict_records(records_of(body))
            except RecordError as exc:
                self._error(HTTPStatus.BAD_REQUEST, str(exc), line=exc.line)
                return
            except Exception as exc:  # noqa: BLE001 - answered, not fatal for the server
                LOG.exception("prediction failed")
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"prediction failed: {type(exc).__name__}: {exc}")
                return
            payload = "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in outputs).encode("utf-8")
            self._send(HTTPStatus.OK, payload, content_type=JSONLINES)
            LOG.info("predicted %d records in %.3f s", len(outputs), time.perf_counter() - started)
        finally:
            self.server.end()


def make_server(
    model_dir: Path | str, host: str = "0.0.0.0", port: int = 8080, max_body: int | None = None
) -> ModelServer:
    """A server with the model loaded (port 0 picks a free port: see server.server_address)."""
    bundle = load(model_dir)
    return ModelServer((host, port), bundle, max_body if max_body is not None else max_body_bytes(dict(os.environ)))


def main() -> int:
    """Arguments are ignored: SageMaker runs the image with the single argument `serve`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        port = paths.port()
        started = time.perf_counter()
        server = make_server(paths.model_dir(), "0.0.0.0", port)
    except (ModelError, ValueError, OSError) as exc:
        LOG.error("cannot start: %s", exc)
        return 1
    bundle = server.bundle
    LOG.info(
        "model loaded from %s in %.2f s: %d classes, %d fold models; listening on port %d",
        paths.model_dir(),
        time.perf_counter() - started,
        bundle.num_classes,
        len(bundle.folds),
        server.server_address[1],
    )

    def stop(signum: int, _frame: Any) -> None:
        LOG.info("signal %d: shutting down", signum)
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        if not server.drain(DRAIN_SECONDS):
            LOG.warning("requests still running after %.0f s; exiting anyway", DRAIN_SECONDS)
        server.server_close()
    LOG.info("stopped")
    return 0
