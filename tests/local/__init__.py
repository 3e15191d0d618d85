"""Tests of the embedded AWS (local/embedded_aws)."""
