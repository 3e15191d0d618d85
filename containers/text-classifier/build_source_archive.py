"""Build the bundled model's SageMaker source archive, reproducibly (stdlib only; run by `make build`).

The `bundled` preset runs on the region's prebuilt scikit-learn framework image in script mode: SageMaker
unpacks this archive as the job's code (`sagemaker_submit_directory`) and runs `train.py`; the model it writes
carries the same files under `code/`, where the image's model server imports `inference.py`. The archive holds:

    train.py, inference.py    the script-mode entry points (sagemaker/)
    image-libraries.txt       the image's library versions local mode runs with (train warns on a difference)
    text_classifier/          the model code, the same package the own-image container runs
    embedding-model/          all-MiniLM-L6-v2 as ONNX (make embedding-model)
    vendor/                   what the image lacks (sagemaker/vendor.txt: onnxruntime, tokenizers, ...), the
                              wheels for CPython 3.12 on x86_64 unpacked as pip installs them
    wheels/                   the build backend the model server's start-up `pip install` of the code folder
                              needs (sagemaker/install-wheels.txt), found through PIP_FIND_LINKS

so a job downloads nothing (it works with network isolation). Same inputs -> same bytes:
entries sorted, fixed owner, mode and timestamp, gzip without name or time (Terraform keys the S3 object by
the archive's SHA-256). Written to a temporary file and renamed.

    python containers/text-classifier/build_source_archive.py --vendor-wheels DIR --embedding-model DIR \
        --install-wheels DIR --out FILE
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

CONTAINER = Path(__file__).resolve().parent
sys.path.insert(0, str(CONTAINER.parents[1] / "functions"))
# the Lambda zips unpack their wheels, check their paths and write their file the same way
from build_zip import atomic_output, collect_entries, wheel_files  # noqa: E402

FIXED_MTIME = 315532800  # 1980-01-01, as in the Lambda zips
EMBEDDING_FILES = ("model.onnx", "tokenizer.json", "embedding-model.json")


def source_files(vendor_wheels: Path, embedding_model: Path, install_wheels: Path) -> Iterator[tuple[str, bytes]]:
    for name in ("train.py", "inference.py", "image-libraries.txt"):
        yield name, (CONTAINER / "sagemaker" / name).read_bytes()
    for path in sorted((CONTAINER / "text_classifier").glob("*.py")):
        yield f"text_classifier/{path.name}", path.read_bytes()
    for name in EMBEDDING_FILES:
        path = embedding_model / name
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run `make embedding-model` first")
        yield f"embedding-model/{name}", path.read_bytes()
    for name, data in wheel_files(vendor_wheels):
        yield f"vendor/{name}", data
    for path in sorted(install_wheels.glob("*.whl")):
        yield f"wheels/{path.name}", path.read_bytes()


def build(vendor_wheels: Path, embedding_model: Path, install_wheels: Path, output: Path) -> None:
    entries = collect_entries(source_files(vendor_wheels, embedding_model, install_wheels), "archive")
    with (
        atomic_output(output) as stream,
        gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0, compresslevel=6) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(entries[name]), FIXED_MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(entries[name]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor-wheels", type=Path, required=True, help="the wheels of sagemaker/vendor.txt")
    parser.add_argument("--embedding-model", type=Path, required=True, help="make embedding-model's output")
    parser.add_argument("--install-wheels", type=Path, required=True, help="the wheels of sagemaker/install-wheels.txt")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    build(args.vendor_wheels, args.embedding_model, args.install_wheels, args.out)
    print(f"built {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
