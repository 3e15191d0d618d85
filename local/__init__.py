"""Local mode: run the whole workflow on one machine, without an AWS account or Docker."""
