"""Shared library vendored into every Lambda zip of the active-labeling workflow.

Pure modules (no boto3): errors, manifest, labels, layout, progress, stats, certification, schemas.
AWS-facing modules: aws (lazily created clients), s3io (streaming JSON Lines over S3), observability.
"""

__version__ = "0.1.0"
