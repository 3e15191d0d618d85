"""The labeling page's server over real HTTP, against moto S3 and a stand-in Step Functions (the task-token
round trip with a real execution and a real browser is tests/e2e/test_labeling_page.py)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from labeler import cli, web

ANSWER_KEY = "runs/run-1/batches/news-0a1b2c3d-h0001/answers.manifest"


class FakeStepFunctions:
    """An execution waiting on one task token: RUNNING until the token is used once."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.spent = False

    def describe_execution(self, executionArn):
        return {"status": "RUNNING"}

    def _use(self, name, **arguments):
        if self.spent:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "spent"}}, name)
        self.calls.append((name, arguments))

    def send_task_heartbeat(self, taskToken):
        self._use("send_task_heartbeat", taskToken=taskToken)

    def send_task_success(self, taskToken, output):
        self._use("send_task_success", taskToken=taskToken, output=json.loads(output))
        self.spent = True

    def send_task_failure(self, taskToken, error, cause):
        self._use("send_task_failure", taskToken=taskToken, error=error, cause=cause)
        self.spent = True


@dataclass
class Served:
    url: str
    workspace: object
    task: object
    sfn: FakeStepFunctions

    def call(self, path, body=None, *, raw=None, headers=None):
        """(status, parsed JSON or text, raw body) of a GET, or of a POST when body/raw is given."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Content-Type": "application/json", **(headers or {})} if data is not None else {}
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text, kind = response.status, response.read().decode(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            status, text, kind = error.code, error.read().decode(), error.headers.get_content_type()
        return status, (json.loads(text) if kind == "application/json" else text), text

    def answers_uploaded(self) -> bool:
        return ANSWER_KEY in self.workspace.keys("runs/")


@pytest.fixture
def served(task_setup):
    workspace, task, _ = task_setup
    sfn = FakeStepFunctions()
    server = web.make_server(workspace.s3, sfn, workspace.uri("runs/"), "127.0.0.1", 0)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )  # moto's mock covers every thread
    thread.start()
    yield Served(f"http://127.0.0.1:{server.server_port}", workspace, task, sfn)
    server.shutdown()
    server.server_close()


def test_the_page_and_nothing_else_on_disk_is_served(served):
    status, page, _ = served.call("/")
    assert status == 200 and '<script src="/app.js"' in page
    assert served.call("/app.js")[0] == served.call("/style.css")[0] == 200
    for path in ("/index.html/../../pyproject.toml", "/static/app.js", "/web.py"):
        assert served.call(path)[0] == 404


def test_pending_tasks_are_listed_without_their_token(served):
    status, body, raw = served.call("/api/tasks")
    assert status == 200
    assert body == {
        "location": "s3://labeling-bucket/runs/",
        "tasks": [
            {
                "uri": served.task.uri,
                "job": "news-0a1b2c3d-h0001",
                "records": 3,
                "labels": served.task.labels,
                "created": "2026-11-29T04:00:00.000000",
            }
        ],
    }
    assert "token-123" not in raw


def test_a_task_shows_its_items_but_never_its_token(served):
    served.workspace.put_lines(  # one item stored as an S3 object: the page shows its URI
        "runs/run-1/batches/news-0a1b2c3d-h0001/input.manifest",
        [{"source": "headline 3", "al:record-id": 3}, {"source-ref": "s3://texts/8.txt", "al:record-id": 8}],
    )
    status, body, raw = served.call(f"/api/task?uri={served.task.uri}")
    assert status == 200 and body["pending"] is True and body["labels"] == served.task.labels
    assert body["items"] == [
        {"id": 3, "text": "headline 3", "ref": False},
        {"id": 8, "text": "s3://texts/8.txt", "ref": True},
    ]
    assert "token-123" not in raw and "TaskToken" not in raw


@pytest.mark.parametrize(
    "uri",
    [
        "s3://other-bucket/runs/run-1/batches/news-0a1b2c3d-h0001/task.json",  # not under LOCATION
        "s3://labeling-bucket/config/class_labels.json",  # not a task
        "s3://labeling-bucket/runs/run-2/batches/news-x/task.json",  # no such object
    ],
)
def test_only_tasks_under_the_location_can_be_opened(served, uri):
    status, body, _ = served.call(f"/api/task?uri={uri}")
    assert status == 404 and body["error"]


def test_valid_answers_are_uploaded_and_complete_the_task(served):
    answers = [{"al:record-id": 3, "label": "Business"}, {"al:record-id": 15, "label": "Health & Medicine"}]
    status, body, _ = served.call("/api/submit", {"uri": served.task.uri, "answers": answers})
    assert status == 200
    assert body == {
        "job": "news-0a1b2c3d-h0001",
        "sent": 2,
        "left": 1,
        "answer_uri": served.task.document["AnswerS3Uri"],
    }
    lines = served.workspace.read_lines(body["answer_uri"])
    assert [(line["al:record-id"], line["category"]) for line in lines] == [(3, 0), (15, 2)]
    assert lines[1]["category-metadata"]["human-annotated"] == "yes"
    assert lines[1]["category-metadata"]["job-name"] == "labeling-job/news-0a1b2c3d-h0001"
    assert [name for name, _ in served.sfn.calls] == ["send_task_heartbeat", "send_task_success"]
    assert served.sfn.calls[1][1]["output"] == {
        "JobName": "news-0a1b2c3d-h0001",
        "LabeledManifestS3Uri": body["answer_uri"],
    }


@pytest.mark.parametrize(
    "answers,message",
    [
        ([{"al:record-id": 99, "label": "Business"}], "line 1: record 99 is not in this task's batch"),
        ([{"al:record-id": 3, "label": "Business"}, {"al:record-id": 8, "label": "Sports"}], "line 2: label 'Sports'"),
        ([{"al:record-id": 3, "label": 0}, {"al:record-id": 3, "label": 1}], "record 3 is answered twice"),
        ([{"al:record-id": "three", "label": "Business"}], "must be an integer"),
    ],
)
def test_invalid_answers_are_refused_and_nothing_is_sent(served, answers, message):
    status, body, _ = served.call("/api/submit", {"uri": served.task.uri, "answers": answers})
    assert status == 422 and body["error"].startswith("the answers were refused (") and message in body["error"]
    assert not served.answers_uploaded() and served.sfn.calls == []


@pytest.mark.parametrize(
    "request_kwargs,status",
    [
        ({"body": {"uri": "TASK"}}, 400),  # no answers
        ({"body": {"uri": "TASK", "answers": []}}, 400),  # nothing labeled: give up instead
        ({"body": {"uri": "TASK", "answers": "3,Business"}}, 400),
        ({"raw": b"{not json"}, 400),
        (
            {
                "body": {"uri": "TASK", "answers": [{"al:record-id": 3, "label": "Business"}]},
                "headers": {"Content-Type": "text/plain"},
            },
            415,
        ),
        (
            {
                "body": {"uri": "TASK", "answers": [{"al:record-id": 3, "label": "Business"}]},
                "headers": {"Origin": "http://evil.example"},
            },
            403,
        ),
    ],
)
def test_malformed_or_cross_site_requests_are_refused(served, request_kwargs, status):
    if "body" in request_kwargs:
        request_kwargs["body"] = {k: served.task.uri if v == "TASK" else v for k, v in request_kwargs["body"].items()}
    got, body, _ = served.call("/api/submit", **request_kwargs)
    assert got == status and body["error"]
    assert not served.answers_uploaded() and served.sfn.calls == []


def test_unknown_api_paths_are_404(served):
    assert served.call("/api/nothing")[0] == served.call("/api/nothing", {})[0] == 404


def test_a_task_nobody_waits_for_any_more_is_a_conflict(served):
    served.sfn.spent = True  # answered from another browser, or timed out
    answers = [{"al:record-id": 3, "label": "Business"}]
    status, body, _ = served.call("/api/submit", {"uri": served.task.uri, "answers": answers})
    assert status == 409 and "no longer waits" in body["error"]
    assert not served.answers_uploaded()


def test_giving_up_fails_the_task_with_the_reason(served):
    assert served.call("/api/fail", {"uri": served.task.uri, "reason": "  "})[0] == 400
    status, body, _ = served.call("/api/fail", {"uri": served.task.uri, "reason": "team unavailable"})
    assert status == 200 and body == {"job": "news-0a1b2c3d-h0001", "failed": True}
    assert served.sfn.calls == [
        ("send_task_failure", {"taskToken": "token-123", "error": "LabelingAbandoned", "cause": "team unavailable"})
    ]
    assert served.call("/api/fail", {"uri": served.task.uri, "reason": "again"})[0] == 409


def test_serve_takes_the_endpoint_before_or_after_the_subcommand():
    for argv in (
        ["--endpoint-url", "http://127.0.0.1:5000", "serve", "s3://b/"],
        ["serve", "--endpoint-url", "http://127.0.0.1:5000", "s3://b/"],
    ):
        args = cli.parser().parse_args(argv)
        assert (args.endpoint_url, args.location, args.port, args.host) == (
            "http://127.0.0.1:5000",
            "s3://b/",
            8000,
            "127.0.0.1",
        )


def test_a_local_endpoint_needs_no_credentials_or_region(monkeypatch):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    s3, sfn = cli._serve_clients(
        cli.parser().parse_args(["serve", "--endpoint-url", "http://127.0.0.1:5000", "s3://b/"])
    )
    assert sfn.meta.region_name == "us-east-1" and sfn.meta.endpoint_url == "http://127.0.0.1:5000"
    assert s3._request_signer._credentials.access_key == "local"


def test_serve_refuses_a_location_it_cannot_list(workspace, capsys):
    assert cli.main(["serve", "s3://no-such-bucket/runs/", "--port", "0"]) == 2
    assert "cannot list s3://no-such-bucket/runs/" in capsys.readouterr().err


def test_serve_refuses_a_port_it_cannot_listen_on(workspace, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", workspace.uri("runs/"), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def raw_request(served, path, headers, method="GET", body=None):
    """A request with exactly these headers (urllib always sends the real Host)."""
    import http.client

    url = urllib.parse.urlsplit(served.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    data = json.dumps(body).encode() if body is not None else b""
    if body is not None:
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(data)))
    connection.endheaders(data)
    response = connection.getresponse()
    return response.status, response.read().decode()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", None])
def test_dns_rebinding_is_refused_by_the_host_check(served, host):
    """A page on another domain re-pointed at 127.0.0.1 reaches this server with its own name as Host."""
    port = urllib.parse.urlsplit(served.url).port
    headers = {} if host is None else {"Host": host.format(port=port)}
    for path, method, body in [
        ("/api/tasks", "GET", None),
        (f"/api/task?uri={served.task.uri}", "GET", None),
        ("/", "GET", None),
        ("/api/fail", "POST", {"uri": served.task.uri, "reason": "x"}),
    ]:
        status, text = raw_request(served, path, headers, method, body)
        assert status == 421 and "headline" not in text
    assert served.sfn.calls == []


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_the_bound_names_are_served(served, host):
    port = urllib.parse.urlsplit(served.url).port
    assert raw_request(served, "/api/tasks", {"Host": host.format(port=port)})[0] == 200


def test_beyond_loopback_every_request_needs_the_start_password(task_setup):
    import base64

    workspace, _, _ = task_setup
    server = web.make_server(
        workspace.s3, FakeStepFunctions(), workspace.uri("runs/"), "0.0.0.0", 0, allowed_hosts=("labels.example",)
    )
    assert server.password and len(server.password) >= 20  # new at every start, printed by `labeler serve`
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        served = Served(f"http://127.0.0.1:{server.server_port}", workspace, None, None)
        host = {"Host": f"labels.example:{server.server_port}"}
        assert raw_request(served, "/api/tasks", host)[0] == 401
        wrong = base64.b64encode(b"labeler:guess").decode()
        assert raw_request(served, "/api/tasks", {**host, "Authorization": f"Basic {wrong}"})[0] == 401
        right = base64.b64encode(f"labeler:{server.password}".encode()).decode()
        assert raw_request(served, "/api/tasks", {**host, "Authorization": f"Basic {right}"})[0] == 200
        # behind an HTTPS proxy on the default port: no port in Host, an https:// Origin
        proxied = {"Host": "labels.example", "Authorization": f"Basic {right}", "Origin": "https://labels.example"}
        status, text = raw_request(served, "/api/fail", proxied, "POST", {"uri": "s3://x/y/task.json", "reason": "r"})
        assert status == 404  # past the host, password and origin checks: the task itself is unknown
        # a bound-beyond-loopback server knows no name unless told
        assert raw_request(served, "/api/tasks", {"Host": f"127.0.0.2:{server.server_port}"})[0] == 421
    finally:
        server.shutdown()
        server.server_close()


def test_aws_errors_reach_the_page_as_a_code_without_arns(served):
    from botocore.exceptions import ClientError

    def refuse(**_):
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "arn:aws:iam::123456789012:role/x is not authorized"}},
            "ListObjectsV2",
        )

    served.workspace.s3.get_paginator = lambda name: type("P", (), {"paginate": staticmethod(refuse)})()
    status, body, raw = served.call("/api/tasks")
    assert status == 502 and "AccessDenied" in body["error"]
    assert "123456789012" not in raw and "arn:" not in raw


def test_too_many_clients_at_once_get_503_not_a_thread_each(task_setup):
    import http.client

    workspace, _, _ = task_setup
    server = web.make_server(workspace.s3, FakeStepFunctions(), workspace.uri("runs/"), "127.0.0.1", 0)
    server.slots = threading.BoundedSemaphore(1)
    assert server.slots.acquire(blocking=False)  # the only slot is held, as by a slow client
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", "/api/tasks")
        assert connection.getresponse().status == 503
        server.slots.release()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", "/api/tasks")
        assert connection.getresponse().status == 200  # the slot is given back after each request
    finally:
        server.shutdown()
        server.server_close()
