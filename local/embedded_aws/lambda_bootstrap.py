"""Runs ONE Lambda invocation inside the function's own Python (stdlib only; any Python >= 3.8).

Started by lambda_runtime.py as `<python3.X> -S lambda_bootstrap.py <workdir>` with PYTHONPATH =
<extracted zip>:<runtime_site> and cwd = the extracted zip, like /var/task and /var/runtime on Lambda.
It reads <workdir>/invoke.json (handler, context fields, deadline) and <workdir>/event.json, calls the
handler, and writes <workdir>/result.json - never stdout: the handler's stdout/stderr are the function's
logs (Powertools Metrics prints its EMF JSON there).

result.json is {"ok": true, "payload": "<JSON text>"} or, as the Lambda Python runtime reports it,
{"ok": false, "errorType": ..., "errorMessage": ..., "stackTrace": [...]}; both with "peak_rss_kb".
"""

import decimal
import importlib
import json
import logging
import os
import sys
import time
import traceback


class LambdaContext:
    def __init__(self, spec):
        self.function_name = spec["function_name"]
        self.function_version = spec["function_version"]
        self.invoked_function_arn = spec["invoked_function_arn"]
        self.memory_limit_in_mb = int(spec["memory_limit_in_mb"])
        self.aws_request_id = spec["aws_request_id"]
        self.log_group_name = spec["log_group_name"]
        self.log_stream_name = spec["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(spec["deadline_epoch_ms"])

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self):
        return f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name}])"


def _decimal_serializer(o):
    if isinstance(o, decimal.Decimal):
        return float(o)
    raise TypeError(repr(o) + " is not JSON serializable")


def _error(error_type, message, tb=None):
    # Like Lambda: the trace starts in the function's code, without the runtime's own frames.
    frames = (
        [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != os.path.abspath(__file__)]
        if tb is not None
        else []
    )
    stack = traceback.format_list(frames)
    return {"ok": False, "errorType": error_type, "errorMessage": message, "stackTrace": stack}


def _peak_rss_kb():
    """Peak RSS of this process since exec (VmHWM). Not ru_maxrss: Linux carries the parent's (the
    server's) high-water mark across fork+exec, so ru_maxrss would report the server's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except Exception:  # noqa: BLE001
        return None


def _write_result(workdir, result):
    tmp = os.path.join(workdir, "result.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(tmp, os.path.join(workdir, "result.json"))


def _log_unhandled(result):
    sys.stderr.write(f"[ERROR] {result['errorType']}: {result['errorMessage']}\n")
    if result["stackTrace"]:
        sys.stderr.write("Traceback (most recent call last):\n" + "".join(result["stackTrace"]))


def _install_root_logger(request_id):
    # Like the Lambda Python runtime: a root handler with the runtime's line format.
    class _RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = request_id
            return True

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    logging.Formatter.converter = time.gmtime
    logging.getLogger().addHandler(handler)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    # This script's own folder (the embedded AWS package) must not be importable by the handler.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    workdir = sys.argv[1]
    with open(os.path.join(workdir, "invoke.json"), encoding="utf-8") as f:
        spec = json.load(f)
    with open(os.path.join(workdir, "event.json"), encoding="utf-8") as f:
        event = json.load(f)
    _install_root_logger(spec["aws_request_id"])

    handler_name = spec["handler"]
    module_name, _, function_name = handler_name.rpartition(".")
    result = None
    try:
        if not module_name:
            raise ValueError(f"Bad handler '{handler_name}': not enough values to unpack")
        module = importlib.import_module(module_name)
    except ImportError as exc:
        result = _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except ValueError as exc:
        result = _error("Runtime.MalformedHandlerName", str(exc))
    except Exception as exc:  # an error raised while importing the handler module
        result = _error(type(exc).__name__, str(exc), sys.exc_info()[2])
    if result is None:
        handler = getattr(module, function_name, None)
        if handler is None:
            result = _error(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            )
    if result is None:
        try:
            value = handler(event, LambdaContext(spec))
        except Exception as exc:
            result = _error(type(exc).__name__, str(exc), sys.exc_info()[2])
        else:
            try:
                result = {"ok": True, "payload": json.dumps(value, default=_decimal_serializer)}
            except Exception as exc:
                result = _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
    if not result["ok"]:
        _log_unhandled(result)
    sys.stdout.flush()
    sys.stderr.flush()
    result["peak_rss_kb"] = _peak_rss_kb()
    _write_result(workdir, result)
    # Like Lambda freezing the sandbox: threads the handler left behind must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
