"""Labels by record id in a temporary SQLite file.

A merge must hold the batch it merges: up to 100,000 human answers, or a round's auto-labels for most of a
million-item manifest. In a dict that grows with the batch (hundreds of MB at 1M items); here it stays in
SQLite's few-MB page cache, on the function's /tmp, and comes back in record-id order, so the merge is one
sorted join with the working manifest (whose record ids ascend) in bounded memory.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

Entry = tuple[int, int, dict, int]  # record id, label, metadata, line number in the batch file


class LabelStore:
    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="labels-")
        self._db = sqlite3.connect(Path(self._directory.name) / "labels.db")
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-4000", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE labels (record_id INTEGER PRIMARY KEY, label INTEGER NOT NULL, "
            "metadata TEXT NOT NULL, line INTEGER NOT NULL)"
        )
        self._count = 0

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._directory.cleanup()

    def __len__(self) -> int:
        return self._count

    def add(self, record_id: int, label: int, metadata: dict, line: int) -> int | None:
        """Store one label; if the record already has one, store nothing and return that label's line."""
        try:
            self._db.execute(
                "INSERT INTO labels VALUES (?, ?, ?, ?)",
                (record_id, label, json.dumps(metadata, ensure_ascii=False, separators=(",", ":")), line),
            )
        except sqlite3.IntegrityError:
            return self._db.execute("SELECT line FROM labels WHERE record_id = ?", (record_id,)).fetchone()[0]
        self._count += 1
        return None

    def in_order(self) -> Iterator[Entry]:
        """Every entry, by ascending record id (the primary key's own order: no sort)."""
        cursor = self._db.execute("SELECT record_id, label, metadata, line FROM labels ORDER BY record_id")
        for record_id, label, metadata, line in cursor:
            yield record_id, label, json.loads(metadata), line
