"""Errors raised by the workflow's functions.

A Lambda function error reaches Step Functions with the exception *class name* as its error name, so these
class names are exactly the strings the ASL files use in ErrorEquals (tests check that every name the ASL
mentions exists here). None of them is retried: they all mean "the input is wrong", and retrying cannot help.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class. `field` points at the offending input (JSON path or 'line N'), when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class InvalidInput(WorkflowError):
    """The execution input (labeling job request) is invalid or points at something that does not exist."""


class InvalidLabelConfig(WorkflowError):
    """The label category config file is invalid."""


class InvalidManifest(WorkflowError):
    """A manifest line is invalid (bad JSON, no source, label out of range, ...). `field` is 'line N'."""


class InvalidLabeledBatch(WorkflowError):
    """Labels returned by humans (Ground Truth output or a callback answer) are unusable."""


class InvalidInferenceOutput(WorkflowError):
    """The batch transform output does not match its input (missing records, bad probabilities)."""


class InvalidEvent(WorkflowError):
    """A function received an event that does not match its contract: a bug in the ASL, not user input."""


class WorkflowLocked(WorkflowError):
    """Another execution is running on the same output path."""


# Names the ASL catches or reports. Kept here so tests can check ASL <-> code consistency.
ERROR_NAMES = tuple(
    cls.__name__
    for cls in (
        InvalidInput,
        InvalidLabelConfig,
        InvalidManifest,
        InvalidLabeledBatch,
        InvalidInferenceOutput,
        InvalidEvent,
        WorkflowLocked,
    )
)
