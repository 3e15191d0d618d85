"""Embedded AWS for local mode: moto server plus a small, pinned extension (see README.md).

Public API: EmbeddedAWS (launcher), install() (patch moto in this process), and the simulated
workforce in local.embedded_aws.workforce.
"""

from .extension import REQUIRED_MOTO_VERSION, install
from .launcher import EmbeddedAWS

__all__ = ["EmbeddedAWS", "install", "REQUIRED_MOTO_VERSION"]
