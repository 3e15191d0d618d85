"""Supply chain: the Lambda wheels, the container and the development lock are hash-pinned, and the pinning
tool rewrites hashes faithfully."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pin_hashes import rewrite, wheel_hashes

REPO = Path(__file__).resolve().parents[2]


def hash_counts(path: Path) -> dict[str, int]:
    """Requirement name -> number of --hash lines; fails unless every requirement is pinned with hashes."""
    text = path.read_text()
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
    requirements = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert entries and len(entries) == len(requirements)
    return {name: block.count("--hash") for name, _, block in entries}


def test_every_vendored_requirement_is_pinned_by_version_and_hash():
    lambda_wheels = hash_counts(REPO / "functions" / "requirements.txt")
    assert lambda_wheels["rpds-py"] == lambda_wheels["wrapt"] == 6  # CPython 3.11-3.13 x x86_64/aarch64
    container = hash_counts(REPO / "containers" / "text-classifier" / "requirements.txt")
    assert container["numpy"] == container["scikit-learn"] == container["onnxruntime"] == 1  # CPython 3.11, x86_64
    assert "torch" not in container  # the embedding model is exported before the image is built
    dockerfile = (REPO / "containers" / "text-classifier" / "Dockerfile").read_text()
    install = dockerfile[dockerfile.index("RUN pip install") :].split("&&", 1)[0]
    assert "--require-hashes" in install and "-r /opt/program/requirements.txt" in install
    assert "--extra-index-url" not in install  # every file from the default index, by hash


def test_the_development_lock_pins_every_file_of_each_release_by_hash():
    """The lock serves every platform a developer may use: each release is pinned with the hashes of all its
    files on the index (pip-compile --generate-hashes), not only this machine's wheel."""
    lock = hash_counts(REPO / "requirements" / "dev.lock")
    assert lock["moto"] >= 1 and lock["cffi"] >= 20 and lock["scikit-learn"] >= 10  # wheels for many platforms
    makefile = (REPO / "Makefile").read_text()
    venv_rule = makefile[makefile.index("$(VENV)/.installed:") :].split("\n\n", 1)[0]
    assert "--require-hashes -r requirements/dev.lock" in venv_rule
    runtime_rule = makefile[makefile.index("$(LAMBDA_RUNTIME_SITE)/.done:") :].split("\n\n", 1)[0]
    assert "--require-hashes" in runtime_rule


def test_the_wheelhouse_is_downloaded_with_require_hashes():
    makefile = (REPO / "Makefile").read_text()
    rule = makefile[makefile.index("$(WHEELHOUSE)/.done:") :].split("\n\n", 1)[0]
    assert "--require-hashes" in rule and "-r functions/requirements.txt" in rule


def test_pin_hashes_rewrites_each_requirement_with_the_hashes_of_its_wheels(tmp_path):
    for directory, name, content in [
        ("py311", "wrapt-2.5.2-cp311-cp311-manylinux2014_x86_64.whl", b"a"),
        ("py312", "wrapt-2.5.2-cp312-cp312-manylinux2014_x86_64.whl", b"b"),
        ("py312", "jmespath-1.1.0-py3-none-any.whl", b"c"),
    ]:
        (tmp_path / directory).mkdir(exist_ok=True)
        (tmp_path / directory / name).write_bytes(content)
    digest = {c: hashlib.sha256(c).hexdigest() for c in (b"a", b"b", b"c")}
    old = "# comment\nwrapt==2.5.2 \\\n    --hash=sha256:" + "0" * 64 + "\njmespath==1.1.0\n"
    new = rewrite(old, wheel_hashes(tmp_path))
    a, b = sorted([digest[b"a"], digest[b"b"]])
    assert new == (
        f"# comment\nwrapt==2.5.2 \\\n    --hash=sha256:{a} \\\n    --hash=sha256:{b}\n"
        f"jmespath==1.1.0 \\\n    --hash=sha256:{digest[b'c']}\n"
    )
    assert rewrite(new, wheel_hashes(tmp_path)) == new  # idempotent
