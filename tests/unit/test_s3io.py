import pytest

from labeling_common import s3io
from labeling_common.errors import InvalidManifest


def test_lines_stream_across_chunks_with_crlf_blank_lines_and_no_final_newline(workspace, monkeypatch):
    monkeypatch.setattr(s3io, "READ_CHUNK_BYTES", 7)
    uri = workspace.put_bytes("m.jsonl", b'{"a": 1}\r\n\n  \n{"a": "\xc3\xa9t\xc3\xa9"}\n{"a": 3}')
    assert list(s3io.iter_json_lines(uri)) == [(1, {"a": 1}), (4, {"a": "été"}), (5, {"a": 3})]


@pytest.mark.parametrize(
    "body,line", [(b'{"a": 1}\n{"a": \n', "line 2"), (b"[1, 2]\n", "line 1"), (b"\xff\xfe\n", "line 1")]
)
def test_bad_lines_name_their_line(workspace, body, line):
    uri = workspace.put_bytes("bad.jsonl", body)
    with pytest.raises(InvalidManifest) as error:
        list(s3io.iter_json_lines(uri))
    assert error.value.field == line


def test_small_output_is_one_put(workspace):
    uri = workspace.uri("out/small.jsonl")
    with s3io.JsonLinesWriter(uri) as writer:
        writer.write({"text": "ü"})
    assert workspace.read_bytes(uri) == '{"text":"ü"}\n'.encode()


def test_large_output_uses_multipart_upload_in_bounded_parts(workspace):
    uri = workspace.uri("out/big.jsonl")
    records = [{"i": i, "pad": "x" * 100} for i in range(200_000)]  # ~23 MB -> 3 parts of 8 MiB
    with s3io.JsonLinesWriter(uri) as writer:
        for record in records:
            writer.write(record)
        assert writer._upload_id is not None
        assert len(writer._buffer) < s3io.PART_BYTES + 200
    assert writer.lines == 200_000
    assert [r["i"] for r in s3io.iter_records(uri)] == list(range(200_000))


def test_an_error_inside_the_writer_leaves_no_object_and_no_pending_upload(workspace):
    uri = workspace.uri("out/failed.jsonl")
    with pytest.raises(RuntimeError), s3io.JsonLinesWriter(uri, part_bytes=5 * 1024 * 1024) as writer:
        for i in range(100_000):
            writer.write({"i": i, "pad": "y" * 100})
        raise RuntimeError("boom")
    assert "out/failed.jsonl" not in workspace.keys("out/")
    assert workspace.s3.list_multipart_uploads(Bucket=workspace.bucket).get("Uploads", []) == []


def test_empty_writer_can_skip_the_object(workspace):
    with s3io.JsonLinesWriter(workspace.uri("out/none.jsonl"), write_empty=False):
        pass
    assert workspace.keys("out/") == []


def test_s3_uri_parsing():
    assert s3io.S3Uri.parse("s3://bucket/a/b.jsonl") == s3io.S3Uri("bucket", "a/b.jsonl")
    with pytest.raises(ValueError):
        s3io.S3Uri.parse("https://bucket/a")


def test_intermediate_objects_are_tagged_for_the_expiry_rule(workspace):
    for size in (10, 60_000):  # one PUT, and a multipart upload
        uri = workspace.uri(f"out/train-{size}.jsonl")
        with s3io.JsonLinesWriter(uri, intermediate=True, part_bytes=5 * 1024 * 1024) as writer:
            for i in range(size):
                writer.write({"i": i, "pad": "z" * 100})
        tags = workspace.s3.get_object_tagging(Bucket=workspace.bucket, Key=f"out/train-{size}.jsonl")["TagSet"]
        assert tags == [{"Key": "intermediate", "Value": "true"}]


@pytest.mark.parametrize(
    "body,message",
    [(None, "no such object"), (b"caf\xe9 au lait", "not UTF-8 text (byte 3")],
)
def test_a_source_ref_that_cannot_be_read_is_named_with_its_record(workspace, body, message):
    from labeling_common.model_config import text_of

    if body is not None:
        workspace.put_bytes("texts/1.txt", body)
    record = {"al:record-id": 41, "source-ref": workspace.uri("texts/1.txt")}
    with pytest.raises(InvalidManifest) as error:
        text_of(record, s3io.read_text)
    assert message in str(error.value) and "texts/1.txt" in str(error.value)
    assert error.value.field == "record 41 (source-ref)"
