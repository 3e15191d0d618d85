"""`serve`: /ping, /invocations (MultiRecord, SingleRecord, out-of-fold), errors, limits and shutdown."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.container.helpers import FOLDS, TEST_ROWS, make_opt_ml, run_train, start_server, stop_server
from text_classifier.model import load, predict_lines

JSONL = "application/jsonlines"


def outputs(data: bytes) -> list[dict]:
    text = data.decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text[:-1].split("\n")]


def check_prediction(out: dict, num_classes: int = 4) -> None:
    assert set(out) == {"label", "prob"}
    assert sorted(out["label"]) == list(range(num_classes))
    assert all(isinstance(k, int) for k in out["label"])
    assert len(out["prob"]) == num_classes
    assert out["prob"] == sorted(out["prob"], reverse=True)
    assert all(0.0 <= p <= 1.0 for p in out["prob"])
    assert abs(sum(out["prob"]) - 1.0) < 1e-9


def test_ping(server):
    status, headers, _ = server.request("GET", "/ping")
    assert status == 200
    assert server.request("GET", "/execution-parameters")[0] == 200
    assert server.request("GET", "/nope")[0] == 404


def test_multi_record_one_output_line_per_input_line_in_order(server, trained):
    lines = [{"al:record-id": r["al:record-id"], "source": r["source"], "k": 1000000} for r in TEST_ROWS]
    status, headers, data = server.request(
        "POST", "/invocations", "".join(json.dumps(x) + "\n" for x in lines), {"Content-Type": JSONL, "Accept": JSONL}
    )
    assert status == 200
    assert headers["content-type"] == JSONL
    outs = outputs(data)
    assert len(outs) == len(lines)
    for out in outs:
        check_prediction(out)
    # Same answers as in-process prediction, line for line, and reasonably accurate on unseen headlines.
    assert outs == predict_lines(trained / "model", lines)
    accuracy = sum(o["label"][0] == r["label"] for o, r in zip(outs, TEST_ROWS, strict=True)) / len(outs)
    assert accuracy > 0.7


@pytest.mark.parametrize("content_type", [JSONL, "application/json-lines", "application/x-jsonlines; charset=utf-8"])
def test_single_record(server, content_type):
    for body in ('{"source": "Apple unveils a bigger iPhone"}', '{"source": "Ebola outbreak spreads"}\n'):
        status, headers, data = server.request("POST", "/invocations", body, {"Content-Type": content_type})
        assert status == 200
        [out] = outputs(data)
        check_prediction(out)


def test_out_of_fold_prediction_uses_fold_model_k(server, trained):
    bundle = load(trained / "model")
    texts = [r["source"] for r in TEST_ROWS[:25]]
    lines = [{"source": t, "al:fold": i % FOLDS} for i, t in enumerate(texts)] + [{"source": t} for t in texts]
    status, data = server.invoke(lines)
    assert status == 200
    outs = outputs(data)
    for i, text in enumerate(texts):
        fold_prob = bundle.predict_proba([text], [i % FOLDS])[0]
        full_prob = bundle.predict_proba([text])[0]
        oof, full = outs[i], outs[len(texts) + i]
        assert oof["prob"] == pytest.approx(sorted(fold_prob, reverse=True), abs=1e-12)
        assert oof["label"][0] == int(fold_prob.argmax())
        assert full["prob"] == pytest.approx(sorted(full_prob, reverse=True), abs=1e-12)
    assert [o["prob"] for o in outs[: len(texts)]] != [o["prob"] for o in outs[len(texts) :]]


def test_out_of_fold_on_a_model_without_fold_models_uses_the_full_model(tmp_path):
    opt_ml = make_opt_ml(tmp_path, TEST_ROWS[:100])
    assert run_train(opt_ml).returncode == 0
    a, b = predict_lines(
        opt_ml / "model", ['{"source": "Fed holds rates", "al:fold": 3}', '{"source": "Fed holds rates"}']
    )
    assert a == b


def test_unsupported_content_type_is_415(server):
    for content_type in ("application/json", "text/csv", None):
        headers = {"Content-Type": content_type} if content_type else {}
        status, _, data = server.request("POST", "/invocations", '{"source": "x"}\n', headers)
        assert status == 415, content_type
        assert "application/jsonlines" in json.loads(data)["error"]


BAD_BODIES = [
    ('{"source": "ok"}\n{"source": "broken"\n{"source": "ok"}\n', 2, "invalid JSON"),
    ('{"source": "ok"}\n{"text": "no source"}\n', 2, 'missing "source"'),
    ('{"source": "ok"}\n{"source": "ok"}\n{"source": ["a"]}\n', 3, '"source" must be a string'),
    ('{"source": "ok"}\n\n{"source": "ok"}\n', 2, "empty line"),
    ("[1, 2]\n", 1, "expected a JSON object"),
    ('{"source": "ok", "al:fold": "1"}\n', 1, '"al:fold" must be an integer'),
    ('{"source": "ok", "al:fold": 9}\n', 1, "fold models 0..4 only"),
]


@pytest.mark.parametrize(("body", "line", "message"), BAD_BODIES)
def test_bad_line_is_400_naming_the_line(server, body, line, message):
    status, _, data = server.request("POST", "/invocations", body, {"Content-Type": JSONL})
    assert status == 400
    error = json.loads(data)
    assert error["line"] == line
    assert f"line {line}: " in error["error"] and message in error["error"]


def test_invalid_utf8_is_400(server):
    status, _, data = server.request("POST", "/invocations", b'{"source": "\xff"}\n', {"Content-Type": JSONL})
    assert status == 400 and json.loads(data)["line"] == 1


def test_accept_must_allow_json_lines(server):
    for accept in ("application/jsonlines", "*/*", "application/json-lines;q=0.9, text/html"):
        headers = {"Content-Type": JSONL, "Accept": accept}
        assert server.request("POST", "/invocations", '{"source": "x"}\n', headers)[0] == 200, accept
    status, _, data = server.request(
        "POST", "/invocations", '{"source": "x"}\n', {"Content-Type": JSONL, "Accept": "text/csv"}
    )
    assert status == 406 and "application/jsonlines" in json.loads(data)["error"]


def test_chunked_body(server):
    conn = server.connection()
    try:
        lines = [b'{"source": "Stocks rally"}\n', b'{"source": "New Galaxy phone"}\n']
        conn.request("POST", "/invocations", body=iter(lines), headers={"Content-Type": JSONL}, encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 200
        assert len(outputs(resp.read())) == 2
    finally:
        conn.close()


def test_empty_body_is_204(server):
    for body in ("", "\n", "\n\n"):
        status, _, data = server.request("POST", "/invocations", body, {"Content-Type": JSONL})
        assert status == 204 and data == b""


def test_pretty_printed_single_object_is_one_record(server):
    status, data = server.invoke(['{\n  "source": "Stocks rally as Fed holds rates"\n}'])
    assert status == 200
    assert len(outputs(data)) == 1


def test_keep_alive_connection_serves_many_requests(server):
    conn = server.connection()
    try:
        for i in range(3):
            conn.request(
                "POST",
                "/invocations",
                body=json.dumps({"source": f"headline {i}"}) + "\n",
                headers={"Content-Type": JSONL},
            )
            resp = conn.getresponse()
            assert resp.status == 200
            assert len(outputs(resp.read())) == 1
        conn.request("GET", "/ping")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_body_over_the_limit_is_413_without_reading_it(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/jsonlines\r\n"
            b"Content-Length: 50000000\r\n\r\n"
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413")


def test_six_megabyte_batch_is_accepted(server):
    # Padding in a field the model ignores keeps the body at 6 MB and the prediction work small.
    line = json.dumps({"source": "Samsung Galaxy S5 review", "al:record-id": 1, "pad": "x" * 2000}) + "\n"
    body = line * (6 * 1024 * 1024 // len(line))
    assert 6 * 1024 * 1024 - len(line) < len(body) <= 6 * 1024 * 1024
    start = time.monotonic()
    status, _, data = server.request("POST", "/invocations", body, {"Content-Type": JSONL})
    assert status == 200
    assert data.count(b"\n") == body.count("\n")
    assert time.monotonic() - start < 30


def test_sigterm_stops_the_server_gracefully(trained):
    srv = start_server(trained)
    assert srv.request("GET", "/ping")[0] == 200
    assert stop_server(srv) == 0
    assert b"shutting down" in (trained / "serve.log").read_bytes()


def test_serve_without_a_model_exits_with_an_error(tmp_path):
    opt_ml = make_opt_ml(tmp_path, None)
    srv = start_server(opt_ml, wait=False)
    assert srv.proc.wait(timeout=60) == 1
    assert b"no model.json" in (opt_ml / "serve.log").read_bytes()
