"""Script-mode inference of the `bundled` preset: the serving functions of the SageMaker framework images.

The scikit-learn image's model server imports this module from the model's `code/` directory
(SAGEMAKER_PROGRAM=inference.py, SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) and calls, per request,
input_fn -> predict_fn -> output_fn; model_fn once per worker. The contract is the own-image container's
POST /invocations: JSON Lines in (one object with a string "source" per line), JSON Lines out, one output
line per input line, in order; a bad line fails the request naming its line. The framework's server answers
every error from these functions with status 500 (the own image answers 400 or 415 where that is the cause).
"""

import json
import sys
from pathlib import Path

CODE = Path(__file__).resolve().parent
sys.path.insert(0, str(CODE))

from text_classifier import script_mode  # noqa: E402

script_mode.prepare(CODE)

from text_classifier.model import Bundle, load  # noqa: E402
from text_classifier.server import JSONLINES, JSONLINES_TYPES, accepts_jsonlines, media_type, records_of  # noqa: E402


class UnsupportedMediaType(ValueError):
    """The request's Content-Type or Accept is not JSON Lines."""


def model_fn(model_dir: str) -> Bundle:
    return load(model_dir)


def input_fn(input_data: bytes | str, content_type: str) -> list:
    if media_type(content_type) not in JSONLINES_TYPES:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {content_type!r}; send {JSONLINES} (one JSON object with a string "
            '"source" per line)'
        )
    body = input_data.encode("utf-8") if isinstance(input_data, str) else bytes(input_data)
    return records_of(body)


def predict_fn(records: list, model: Bundle) -> list[dict]:
    return model.predict_records(records)


def output_fn(outputs: list[dict], accept: str) -> tuple[bytes, str]:
    if not accepts_jsonlines(accept):
        raise UnsupportedMediaType(f"cannot produce {accept!r}; this model answers {JSONLINES}")
    return "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in outputs).encode("utf-8"), JSONLINES
