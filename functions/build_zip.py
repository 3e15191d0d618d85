"""Build one Lambda zip per function, reproducibly (stdlib only; run by `make build`).

A zip holds: the function's package (`<name>/*.py`), the shared library (`labeling_common/*.py`) with the
schemas copied into `labeling_common/schemas/`, and the third-party wheels of functions/requirements.txt
built for the Lambda runtime (unpacked the way pip installs them, minus what is machine-specific).

Same inputs -> same bytes, on any machine: entries sorted by path, no directory entries, fixed timestamp
(1980-01-01), fixed permissions (0644), fixed compression level, no bytecode, no `bin/` scripts (they carry
the build machine's interpreter path), no RECORD/INSTALLER/REQUESTED/direct_url.json. Written to a temporary
file and renamed, so a failed or concurrent build never leaves a half-written zip behind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
SHARED = FUNCTIONS / "shared" / "labeling_common"
SCHEMAS = ROOT / "schemas"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
DROPPED_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def function_names() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))


def source_files(function: str) -> Iterator[tuple[str, bytes]]:
    for path in sorted((FUNCTIONS / function).glob("*.py")):
        yield f"{function}/{path.name}", path.read_bytes()
    for path in sorted(SHARED.glob("*.py")):
        yield f"labeling_common/{path.name}", path.read_bytes()
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        yield f"labeling_common/schemas/{path.name}", path.read_bytes()


def _wheel_target(name: str) -> str | None:
    """Where a wheel member goes in site-packages, or None to drop it."""
    parts = name.split("/")
    if name.endswith("/") or "__pycache__" in parts or name.endswith((".pyc", ".pyo")):
        return None
    if parts[0].endswith(".dist-info") and parts[-1] in DROPPED_DIST_INFO:
        return None
    if parts[0].endswith(".data"):  # <dist>.data/{purelib,platlib,scripts,headers,data}/...
        return "/".join(parts[2:]) if len(parts) > 2 and parts[1] in ("purelib", "platlib") else None
    return name


def wheel_files(wheelhouse: Path) -> Iterator[tuple[str, bytes]]:
    wheels = sorted(wheelhouse.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"no wheels in {wheelhouse}: run `make wheelhouse` first")
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                target = _wheel_target(name)
                if target is not None:
                    yield target, archive.read(name)


def collect_entries(files: Iterable[tuple[str, bytes]], what: str) -> dict[str, bytes]:
    """{path: bytes}; the same path twice is fine only with the same bytes (a wheel and our code must not
    silently shadow each other)."""
    entries: dict[str, bytes] = {}
    for name, data in files:
        if name in entries and entries[name] != data:
            raise SystemExit(f"two different files want the {what} path {name}")
        entries[name] = data
    return entries


@contextlib.contextmanager
def atomic_output(output: Path) -> Iterator[BinaryIO]:
    """A binary stream whose bytes become `output` (mode 0644) only when the block ends without error: a
    failed or concurrent build never leaves a half-written file behind."""
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise


def build(function: str, wheelhouse: Path, output: Path) -> None:
    entries = collect_entries([*wheel_files(wheelhouse), *source_files(function)], f"{function} zip")
    with atomic_output(output) as stream, zipfile.ZipFile(stream, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = (0o100000 | FILE_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the build OS
            archive.writestr(info, entries[name], compresslevel=9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("functions", nargs="*", help="function names (default: all)")
    parser.add_argument("--wheelhouse", type=Path, required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    known = function_names()
    for function in args.functions or known:
        if function not in known:
            parser.error(f"unknown function {function!r}; known: {', '.join(known)}")
        build(function, args.wheelhouse, args.out_dir / f"{function}.zip")
        print(f"built {args.out_dir / f'{function}.zip'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
