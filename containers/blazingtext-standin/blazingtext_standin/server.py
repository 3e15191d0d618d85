"""`serve`: BlazingText's inference contract for batch transform, JSON Lines.

    GET  /ping          200 once model.bin is loaded
    POST /invocations   application/jsonlines: one {"source": text, "k": n} per line (k defaults to 1) ->
                        one {"label": ["__label__<l>", …], "prob": [p, …]} per line, most probable first

Only what the workflow's transform jobs send is served; anything else gets 4xx with a message, as BlazingText
answers a request it cannot parse.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import paths

LOG = logging.getLogger("blazingtext_standin.serve")
JSONLINES_TYPES = frozenset({"application/jsonlines", "application/json-lines", "application/x-jsonlines"})


class RequestError(ValueError):
    """A request BlazingText would answer with 400."""


def predict_lines(model, body: bytes) -> bytes:  # noqa: ANN001 - a fasttext model
    lines = body.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    requests: list[tuple[str, int]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            item = json.loads(raw)
        except ValueError as exc:
            raise RequestError(f"line {number} is not JSON: {exc}") from None
        if not isinstance(item, dict) or not isinstance(item.get("source"), str):
            raise RequestError(f"line {number}: an object with a string 'source' is required")
        k = item.get("k", 1)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise RequestError(f"line {number}: k must be a positive integer")
        requests.append((" ".join(item["source"].split()), min(k, len(model.labels))))
    out: list[str] = [""] * len(requests)
    for k in sorted({k for _, k in requests}):  # fastText predicts a list at once, for one k
        rows = [i for i, (_, row_k) in enumerate(requests) if row_k == k]
        labels, probs = model.predict([requests[i][0] for i in rows], k=k)
        for i, row_labels, row_probs in zip(rows, labels, probs, strict=True):
            out[i] = json.dumps({"label": list(row_labels), "prob": [round(float(p), 8) for p in row_probs]})
    return "".join(line + "\n" for line in out).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "blazingtext-standin"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        LOG.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] == "/ping":
            self._send(HTTPStatus.OK, b"")
        else:
            self._send(HTTPStatus.NOT_FOUND, b'{"error": "not found"}')

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != "/invocations":
            self._send(HTTPStatus.NOT_FOUND, b'{"error": "not found"}')
            return
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type not in JSONLINES_TYPES:
            message = f"content type {content_type!r} is not served here: send application/jsonlines"
            self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, json.dumps({"error": message}).encode())
            return
        try:
            self._send(HTTPStatus.OK, predict_lines(self.server.model, body), "application/jsonlines")
        except RequestError as error:
            self._send(HTTPStatus.BAD_REQUEST, json.dumps({"error": str(error)}).encode())


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import fasttext

    model = fasttext.load_model(str(paths.model_dir() / "model.bin"))
    server = ThreadingHTTPServer(("127.0.0.1", paths.port()), Handler)  # local mode only: this machine
    server.daemon_threads = True
    server.model = model
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    LOG.info("serving %d labels on port %d", len(model.labels), paths.port())
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
