"""`python -m local.embedded_aws --port 0 --state-dir DIR [--config FILE]`

Prints ONE JSON line `{"endpoint_url": ..., "pid": ..., ...}` on stdout once the server accepts
requests, then serves until SIGTERM/SIGINT; on either it kills its child processes (Lambda handlers,
container train/serve) and exits 0. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

from .launcher import EmbeddedAWS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.embedded_aws", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--state-dir", required=True, help="logs, invocations.jsonl, faults.json, caches")
    parser.add_argument("--config", help="launcher config JSON file (re-read whenever it changes)")
    parser.add_argument("--runtime-site", help="overrides config runtime_site")
    parser.add_argument("--region", help="overrides config region")
    parser.add_argument("--no-reset", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()

    def _on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    aws = EmbeddedAWS(
        port=args.port,
        host=args.host,
        state_dir=args.state_dir,
        config=args.config,
        runtime_site=args.runtime_site,
        region=args.region,
        reset=not args.no_reset,
    )
    aws.start()
    if args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.INFO)
    print(
        json.dumps(
            {
                "endpoint_url": aws.endpoint_url,
                "pid": os.getpid(),
                "port": aws.port,
                "state_dir": str(aws.state_dir),
                "config": str(aws.config_path),
            }
        ),
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
