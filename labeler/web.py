"""`labeler serve`: a labeling page for a small team, served from the machine that holds the AWS credentials.

The browser gets a task's items and labels, never its task token: the server keeps the token, and every answer
goes through the path of `labeler submit` (`tasks.build_answers`, then `tasks.submit`), so the page can send
nothing the workflow would refuse. Standard library only: `http.server` and one static page (labeler/static/).

API (JSON; errors are `{"error": message}` with a 4xx status, 502 when AWS itself fails):
  GET  /api/tasks                 pending tasks under LOCATION
  GET  /api/task?uri=TASK         one task's job, labels and items (id, text)
  POST /api/submit                {"uri", "answers": [{"al:record-id", "label"}, ...]}: validate, upload, complete
                                  (422 when an answer is refused: then nothing is uploaded or sent)
  POST /api/fail                  {"uri", "reason"}: give up on the task (SendTaskFailure)
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import secrets
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from labeling_common.manifest import RECORD_ID_KEY
from labeling_common.s3io import S3Uri

from . import tasks

STATIC = Path(__file__).with_name("static")
PAGES = {  # URL path -> file in STATIC, content type; nothing else on disk is ever served
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
MAX_BODY_BYTES = 16 * 1024 * 1024  # a batch of answers is a few hundred KB at most
GIVE_UP_ERROR = "LabelingAbandoned"  # the error name `labeler fail` sends too
MAX_CLIENTS = 16  # requests served at once; more get 503 (a small team needs a handful)
CLIENT_TIMEOUT_SECONDS = 30  # a client that sends nothing for this long is dropped
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
USER = "labeler"  # the Basic-auth user name when the page is served beyond this machine


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_names(host: str) -> set[str]:
    """The names a browser may put in the Host header for an address."""
    if is_loopback(host):
        return set(LOOPBACK_NAMES)
    if host in ("", "0.0.0.0", "::"):  # every interface: only the names given with --allowed-host
        return set()
    return {host.lower()}


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


class LabelingServer(ThreadingHTTPServer):
    """Who may use the page. DNS rebinding — a site on another domain whose name is re-pointed at this
    address — is refused by the Host check: only the bound host names (plus `allowed_hosts`) are served.
    Bound beyond this machine, every request also needs the per-start password (HTTP Basic), printed at
    start; put an HTTPS proxy in front for anything but a trusted network."""

    daemon_threads = True  # a slow browser never keeps Ctrl-C from stopping the server

    def __init__(
        self,
        address: tuple[str, int],
        s3: Any,
        sfn: Any,
        location: str,
        *,
        allowed_hosts: tuple[str, ...] = (),
        password: str | None = None,
    ):
        self.s3, self.sfn = s3, sfn
        loc = S3Uri.parse(location)
        self.location = f"s3://{loc.bucket}/{loc.key}"  # the prefix find_tasks searches, as given
        super().__init__(address, Handler)
        self.host_names = _host_names(address[0]) | {name.lower() for name in allowed_hosts}
        needs_password = not is_loopback(address[0])
        self.password = password if password is not None else (secrets.token_urlsafe(18) if needs_password else None)
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)

    def allowed_host(self, header: str | None) -> bool:
        """The Host header names this server: one of its host names, with its port (or none, as through a
        proxy on the default port)."""
        try:
            parts = urlsplit(f"//{header}") if header else None
            port = parts.port if parts else None
        except ValueError:  # a malformed port
            return False
        if parts is None or parts.hostname not in self.host_names:
            return False
        return port is None or port == self.server_port

    def authorized(self, header: str | None) -> bool:
        if self.password is None:
            return True
        expected = "Basic " + base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        return header is not None and hmac.compare_digest(header.encode(), expected.encode())

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # too many at once: refuse rather than queue threads
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            finally:
                self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def task(self, uri: Any) -> tasks.Task:
        """A task under LOCATION only: the page cannot be used to read or answer anything else."""
        if not isinstance(uri, str) or not uri.startswith(self.location) or not uri.endswith("/task.json"):
            raise ApiError(HTTPStatus.NOT_FOUND, f"no labeling task {uri!r} under {self.location}")
        try:
            return tasks.load_task(self.s3, uri)
        except tasks.TaskError as error:
            raise ApiError(HTTPStatus.NOT_FOUND, str(error)) from None


def summary(task: tasks.Task) -> dict:
    """What the page may know of a task: everything but the token."""
    doc = task.document
    return {
        "uri": task.uri,
        "job": task.job_name,
        "records": doc["RecordCount"],
        "labels": task.labels,
        "created": doc["CreatedAt"],
    }


def list_tasks(app: LabelingServer, query: dict) -> dict:
    return {"location": app.location, "tasks": [summary(t) for t in tasks.find_tasks(app.s3, app.sfn, app.location)]}


def show_task(app: LabelingServer, query: dict) -> dict:
    task = app.task(query.get("uri"))
    items = [
        {"id": record[RECORD_ID_KEY], "text": tasks.item_text(record), "ref": "source-ref" in record}
        for record in tasks.batch_records(app.s3, task)
    ]
    return {**summary(task), "pending": tasks.is_pending(app.s3, app.sfn, task), "items": items}


def submit_answers(app: LabelingServer, body: dict) -> dict:
    task = app.task(body.get("uri"))
    answers = body.get("answers")
    if not isinstance(answers, list) or not all(isinstance(answer, dict) for answer in answers):
        raise ApiError(HTTPStatus.BAD_REQUEST, f"answers must be a list of {{{RECORD_ID_KEY!r}, 'label'}} objects")
    if not answers:
        raise ApiError(HTTPStatus.BAD_REQUEST, "no answers: label at least one item, or give up on the task")
    # Only the id and the label: the page never sends metadata, so nobody can through it.
    rows = [(n, {RECORD_ID_KEY: a.get(RECORD_ID_KEY), "label": a.get("label")}) for n, a in enumerate(answers, 1)]
    try:
        lines = tasks.build_answers(task, tasks.categories(app.s3, task), tasks.batch_records(app.s3, task), rows)
    except tasks.TaskError as error:  # nothing is uploaded or sent; "line N" is the N-th answer
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"the answers were refused ({error})") from None
    try:
        output = tasks.submit(app.s3, app.sfn, task, lines)
    except tasks.TaskError as error:  # answered by someone else, timed out, or the run stopped
        raise ApiError(HTTPStatus.CONFLICT, str(error)) from None
    left = task.document["RecordCount"] - len(lines)
    return {"job": task.job_name, "sent": len(lines), "left": left, "answer_uri": output["LabeledManifestS3Uri"]}


def fail_task(app: LabelingServer, body: dict) -> dict:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ApiError(HTTPStatus.BAD_REQUEST, "say why the task is given up (reason)")
    task = app.task(body.get("uri"))
    try:
        tasks.fail(app.sfn, task, GIVE_UP_ERROR, reason.strip())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        raise ApiError(HTTPStatus.CONFLICT, f"the workflow no longer waits for {task.job_name} ({code})") from None
    return {"job": task.job_name, "failed": True}


GET_ROUTES = {"/api/tasks": list_tasks, "/api/task": show_task}
POST_ROUTES = {"/api/submit": submit_answers, "/api/fail": fail_task}


class Handler(BaseHTTPRequestHandler):
    server: LabelingServer
    server_version = "labeler"
    timeout = CLIENT_TIMEOUT_SECONDS  # socket timeout: a client that stalls is dropped

    def _admitted(self) -> bool:
        """Host and password checks before anything is served, the page included."""
        if not self.server.allowed_host(self.headers.get("Host")):
            self._send(HTTPStatus.MISDIRECTED_REQUEST, b'{"error": "unknown host"}', "application/json")
            return False
        if not self.server.authorized(self.headers.get("Authorization")):
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="labeler", charset="UTF-8"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        return True

    def do_GET(self) -> None:
        if not self._admitted():
            return
        url = urlsplit(self.path)
        if url.path in PAGES:
            name, content_type = PAGES[url.path]
            self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), content_type)
            return
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self._api(GET_ROUTES, url.path, lambda: query)

    def do_POST(self) -> None:
        if not self._admitted():
            return
        self._api(POST_ROUTES, urlsplit(self.path).path, self._json_body)

    def _json_body(self) -> dict:
        # A JSON content type and a same-origin Origin keep other web sites open in the same browser from
        # posting answers here (a cross-site JSON POST needs a CORS preflight, which this server never grants).
        if self.headers.get_content_type() != "application/json":
            raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the request body as application/json")
        origin = self.headers.get("Origin")
        host = self.headers.get("Host")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):  # https: behind a proxy
            raise ApiError(HTTPStatus.FORBIDDEN, f"requests from {origin} are not accepted")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:  # read() of a negative length would wait for the client to close
            raise ApiError(HTTPStatus.BAD_REQUEST, "a request body needs a valid Content-Length")
        if length > MAX_BODY_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"the request body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        return body

    def _api(self, routes: dict, path: str, read_input) -> None:
        try:
            if path not in routes:
                raise ApiError(HTTPStatus.NOT_FOUND, f"no such page or API: {path}")
            status, result = HTTPStatus.OK, routes[path](self.server, read_input())
        except ApiError as error:
            status, result = error.status, {"error": str(error)}
        except ClientError as error:  # the console gets the details (ARNs, account ids); the page a code
            traceback.print_exc()
            code = error.response.get("Error", {}).get("Code", "unknown")
            status, result = HTTPStatus.BAD_GATEWAY, {"error": f"AWS refused the request ({code}); see the server log"}
        except BotoCoreError:
            traceback.print_exc()
            status, result = HTTPStatus.BAD_GATEWAY, {"error": "AWS could not be reached; see the server log"}
        except Exception as error:  # a bug: the page says so, the console gets the traceback
            traceback.print_exc()
            status, result = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {error!r}"}
        self._send(status, json.dumps(result).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        # Only this server's own script and style: no inline code, nothing from elsewhere, no framing.
        self.send_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The page polls the task list: log what changes something, and what went wrong.
        if self.command == "POST" or (isinstance(code, int) and code >= 400):
            super().log_request(code, size)


def make_server(
    s3: Any,
    sfn: Any,
    location: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    allowed_hosts: tuple[str, ...] = (),
    password: str | None = None,
) -> LabelingServer:
    return LabelingServer((host, port), s3, sfn, location, allowed_hosts=allowed_hosts, password=password)


def check_location(s3: Any, location: str) -> None:
    """Fail at start, not in the browser, when LOCATION cannot be listed (wrong bucket, endpoint, credentials)."""
    try:
        loc = S3Uri.parse(location)
        s3.list_objects_v2(Bucket=loc.bucket, Prefix=loc.key, MaxKeys=1)
    except ValueError as error:
        raise tasks.TaskError(str(error)) from None
    except (ClientError, BotoCoreError) as error:
        raise tasks.TaskError(f"cannot list {location}: {error}") from None
