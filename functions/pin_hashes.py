"""Rewrite the --hash lines of functions/requirements.txt from the wheels in a directory tree.

`make pin-hashes` downloads every wheel a requirements file may install (each Python and Linux architecture
it is used with) into build/pin-hashes/ and runs this: each pinned requirement gets the sha256 of every
wheel of its name, so pip with --require-hashes accepts exactly those files and nothing else. Used for the
Lambda wheels (functions/requirements.txt) and the container (containers/text-classifier/requirements.txt).
"""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_hashes(directory: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for wheel in directory.rglob("*.whl"):
        found.setdefault(normalized(wheel.name.split("-", 1)[0]), set()).add(
            hashlib.sha256(wheel.read_bytes()).hexdigest()
        )
    return found


def rewrite(text: str, hashes: dict[str, set[str]]) -> str:
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("--hash="):
            continue  # the old hashes; new ones follow their requirement
        match = REQUIREMENT.match(stripped)
        if not match:
            out.append(line)
            continue
        name = normalized(match.group(1))
        if name not in hashes:
            raise SystemExit(f"no wheel of {match.group(1)} was downloaded")
        pinned = sorted(hashes[name])
        out.append(f"{match.group(1)}=={match.group(2)} \\")
        out.extend(f"    --hash=sha256:{h}" + (" \\" if i < len(pinned) - 1 else "") for i, h in enumerate(pinned))
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", type=Path)
    parser.add_argument("wheels", type=Path, help="directory holding the downloaded wheels (searched recursively)")
    args = parser.parse_args()
    args.requirements.write_text(rewrite(args.requirements.read_text(), wheel_hashes(args.wheels)))


if __name__ == "__main__":
    main()
