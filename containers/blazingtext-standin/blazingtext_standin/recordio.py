"""Reading a Pipe-mode channel wrapped in RecordIO (MXNet's framing, SageMaker's RecordWrapperType "RecordIO")."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

MAGIC = 0xCED7230A
_LENGTH_BITS = (1 << 29) - 1


class RecordIOError(ValueError):
    """The stream is not RecordIO (bad magic, or it ends inside a record)."""


def records(stream: BinaryIO) -> Iterator[bytes]:
    """Each record's payload, in order. Records split in parts (continuation flag 1-3) are joined."""
    parts: list[bytes] = []
    offset = 0
    while True:
        header = stream.read(8)
        if not header:
            if parts:
                raise RecordIOError(f"the stream ends inside a split record (offset {offset})")
            return
        if len(header) < 8:
            raise RecordIOError(f"the stream ends inside a record header (offset {offset})")
        magic, word = struct.unpack("<II", header)
        if magic != MAGIC:
            raise RecordIOError(f"no RecordIO magic at offset {offset}: 0x{magic:08x}")
        flag, length = word >> 29, word & _LENGTH_BITS
        payload = stream.read(length)
        if len(payload) < length:
            raise RecordIOError(f"the stream ends inside a record (offset {offset})")
        stream.read(-length % 4)
        offset += 8 + length + (-length % 4)
        if flag == 0:
            yield payload
        elif flag == 3:  # the last part of a split record
            yield b"".join([*parts, payload])
            parts = []
        else:  # 1: the first part, 2: a middle part
            parts.append(payload)


def attribute_tuples(stream: BinaryIO, width: int) -> Iterator[tuple[bytes, ...]]:
    """An augmented manifest streams one record per attribute: group them back into lines of `width`."""
    line: list[bytes] = []
    for payload in records(stream):
        line.append(payload)
        if len(line) == width:
            yield tuple(line)
            line = []
    if line:
        raise RecordIOError(f"the stream ends inside a line: {len(line)} of {width} attribute records")
