"""Fault injection for tests of retry/resume logic: <state_dir>/faults.json, re-read on every use.

    {"lambda": {"<function name>": {"error": "Lambda.ServiceException", "times": 1, "message": "..."}}}

The next `times` invocations of that function fail with `error` before the handler runs; each one
decrements `times` in the file (rewritten atomically). See README.md for how each error surfaces.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .state import STATE, atomic_write_text

_lock = threading.Lock()


def take(kind: str, name: str) -> dict[str, Any] | None:
    """Consume one fault for (kind, name), or return None when none is armed."""
    with _lock:
        path = STATE.path("faults.json")
        if not path.exists():
            return None
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            return None
        faults = json.loads(text)
        entry = (faults.get(kind) or {}).get(name)
        if not entry or int(entry.get("times", 1)) <= 0:
            return None
        entry["times"] = int(entry.get("times", 1)) - 1
        atomic_write_text(path, json.dumps(faults, indent=2) + "\n")
        return {"error": entry["error"], "message": entry.get("message")}
