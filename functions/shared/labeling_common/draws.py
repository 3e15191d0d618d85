"""Seeded, stateless random draws: the same answer on every retry, and no state to keep between steps.

Every random choice of the workflow (the bootstrap batch, the validation set, cross-fit folds, the random
query strategy) is a pure function of (Seed, purpose, record id), so a retried or resumed step chooses
exactly what its first try did, and a run is reproducible from its request.
"""

from __future__ import annotations

import hashlib


def seeded_hash(seed: int, purpose: str, record_id: int) -> int:
    """A stable pseudo-random 64-bit number per (seed, purpose, record): random choices that need no state
    and give the same answer on every retry (bootstrap batch, validation set, random query strategy)."""
    digest = hashlib.blake2b(f"{seed}:{purpose}:{record_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")
