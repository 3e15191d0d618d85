"""Lazily created, cached boto3 clients.

Created on first use (not at import), so tests that start moto after importing a handler still intercept
every call, and cold starts only pay for the clients a function really uses. The endpoint comes from the
standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables, which is how local mode redirects them.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="active-labeling-workflow")


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests call this between moto contexts)."""
    client.cache_clear()
