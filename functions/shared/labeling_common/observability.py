"""Powertools Logger/Tracer/Metrics and the one decorator every handler uses.

Service name, metrics namespace, log level and tracing switches come from the standard POWERTOOLS_*
environment variables that Terraform sets per function. The event is never logged (it carries task tokens).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from . import schemas
from .errors import InvalidEvent, WorkflowError

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def entrypoint(event_contract: str) -> Callable:
    """Wrap a handler: Powertools context, cold-start metric, tracing, and event validation against
    `workflow-state.schema.json#/$defs/events/<event_contract>`. Workflow errors are logged with their field
    and re-raised, so Lambda reports the exception class name that the ASL matches."""

    def decorate(function: Callable[[dict, Any], dict | None]) -> Callable[[dict, Any], dict | None]:
        @logger.inject_lambda_context(log_event=False, clear_state=True)
        @tracer.capture_lambda_handler(capture_response=False)
        @metrics.log_metrics(capture_cold_start_metric=True)
        @functools.wraps(function)
        def handler(event: dict, context: Any) -> dict | None:
            schemas.check(event, f"workflow-state.schema.json#/$defs/events/{event_contract}", InvalidEvent)
            execution = event.get("execution") or {}
            if execution:
                logger.append_keys(execution=execution.get("name"))
            try:
                return function(event, context)
            except WorkflowError as error:
                logger.warning("rejected", error=type(error).__name__, field=error.field, reason=str(error))
                raise

        return handler

    return decorate
