"""Tools for the callback labeling backend: find a pending labeling task, export its batch for any labeling
tool, validate the answers and complete the task (SendTaskSuccess), fail it, or keep it alive.

`labeler.tasks` is the library (also used by the local simulated workforce, so simulated and real labeling
go through the same path); `labeler.cli` is the command line (`labeler --help`)."""
