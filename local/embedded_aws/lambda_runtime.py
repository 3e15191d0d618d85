"""(b) Run a Lambda function's real Python handler from its uploaded zip, in a subprocess.

WHY: moto's Lambda runs handlers only in Docker; without Docker (`lambda.use_docker: false`) its
LambdaSimpleBackend just echoes the input. Local mode has no Docker, and the workflow needs the real
handlers (reading/writing S3 through the endpoint, raising errors that ASL Retry/Catch act on).

MOTO INTERNALS TOUCHED (moto 5.2.5):
  * moto.awslambda.models.LambdaFunction.invoke - replaced: every path that runs a function (the Invoke
    API, Step Functions Lambda tasks, SNS/SQS event sources) ends there.
  * moto.awslambda_simple.models.LambdaSimpleBackend.invoke - routed to LambdaBackend.invoke, so the
    no-Docker backend also goes through LambdaFunction.invoke instead of echoing.
  Both fall back to moto's own code while no embedded AWS is running in the process (STATE.active).
  * reads LambdaFunction fields: function_name, handler, run_time, timeout, memory_size, version,
    environment_vars, code_bytes, code_digest, function_arn, logs_group_name, save_logs().

Each invocation: zip extracted once per CodeSha256 under <state_dir>/lambda-code/; a fresh interpreter
matching the function's Runtime runs lambda_bootstrap.py (event and result through files, not stdout);
the timeout is enforced by killing the process group; peak RSS is the process's own VmHWM (see
procs.py for why not ru_maxrss); the output is
appended to <state_dir>/logs/<function>.log; one JSON line per invocation goes to invocations.jsonl.
"""

from __future__ import annotations

import base64
import glob
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

from . import faults, procs
from .state import STATE, utc_now_iso

LOG = logging.getLogger(__name__)
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")

#: Lambda API errors a fault can inject, with their HTTP status (anything else "Lambda.X" -> 500).
SERVICE_ERROR_STATUS = {
    "ServiceException": 500,
    "TooManyRequestsException": 429,
    "ResourceNotReadyException": 502,
    "ResourceConflictException": 409,
    "EC2ThrottledException": 502,
    "SdkClientException": 500,
    "Unknown": 500,
}


class LambdaServiceError(LambdaClientError):
    """A Lambda *API* error (not a function error): Step Functions names it `Lambda.<code>`."""

    def __init__(self, error_code: str, message: str, status: int = 500):
        super().__init__(error_code, message)
        self.code = status


# --- interpreter per runtime ---------------------------------------------------------------------

_python_cache: dict[str, str] = {}
_python_lock = threading.Lock()


def _python_version(path: str) -> str | None:
    try:
        out = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=False)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    return Path.home() / ".pyenv"


def resolve_python(runtime: str | None) -> str:
    """Interpreter for a Lambda Runtime like "python3.12".

    Order: env LOCAL_LAMBDA_PYTHON_3_12; config lambda_python["python3.12"]; `python3.12` on PATH (only
    if it really runs: a pyenv shim for a version that is not selected does not); the newest
    $(pyenv root)/versions/3.12.*/bin/python3.12.
    """
    m = re.fullmatch(r"python(3)\.(\d+)", runtime or "")
    if not m:
        raise LambdaServiceError(
            "InvalidRuntimeException",
            f"local mode runs only Python Lambda runtimes (python3.X); this function's Runtime is {runtime!r}",
            502,
        )
    version = f"{m.group(1)}.{m.group(2)}"
    env_name = f"LOCAL_LAMBDA_PYTHON_{m.group(1)}_{m.group(2)}"
    with _python_lock:
        explicit = os.environ.get(env_name) or (STATE.config().get("lambda_python") or {}).get(runtime)
        cache_key = f"{runtime}|{explicit or ''}"
        if cache_key in _python_cache:
            return _python_cache[cache_key]
        tried: list[str] = []
        candidates: list[str] = []
        if explicit:
            candidates.append(explicit)
        else:
            on_path = shutil.which(f"python{version}")
            if on_path:
                candidates.append(on_path)
            found = sorted(
                glob.glob(str(_pyenv_root() / "versions" / f"{version}.*" / "bin" / f"python{version}")),
                key=lambda p: [int(x) if x.isdigit() else -1 for x in Path(p).parents[1].name.split(".")],
                reverse=True,
            )
            candidates.extend(found)
        for cand in candidates:
            tried.append(cand)
            if _python_version(cand) == version:
                _python_cache[cache_key] = cand
                return cand
        raise LambdaServiceError(
            "InvalidRuntimeException",
            f"no Python {version} interpreter for Lambda runtime {runtime} (tried: {tried or 'nothing found'}); "
            f"set {env_name}=/path/to/python{version}, put python{version} on PATH, or install it with "
            f"pyenv ($(pyenv root)/versions/{version}.*)",
            502,
        )


# --- code cache ------------------------------------------------------------------------------------

_code_locks: dict[str, threading.Lock] = {}
_code_locks_guard = threading.Lock()


def extracted_code(fn: Any) -> Path:
    """The function's zip, extracted once per code hash under <state_dir>/lambda-code/<sha256>/."""
    digest = getattr(fn, "code_digest", None) or ""
    code = getattr(fn, "code_bytes", b"") or b""
    if not code:
        raise LambdaServiceError(
            "ResourceNotReadyException", f"function {fn.function_name} has no zip code to run", 502
        )
    if not digest:
        import hashlib

        digest = hashlib.sha256(code).hexdigest()
    target = STATE.path("lambda-code", digest)
    if target.is_dir():
        return target
    with _code_locks_guard:
        lock = _code_locks.setdefault(digest, threading.Lock())
    with lock:
        if target.is_dir():
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=target.parent))
        try:
            import io

            with zipfile.ZipFile(io.BytesIO(code)) as zf:
                zf.extractall(tmp)
            os.replace(tmp, target)
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


# --- invocation ------------------------------------------------------------------------------------


@dataclass
class Invocation:
    payload: bytes
    function_error: str | None  # "Unhandled" or None
    error_type: str | None
    log_text: str


_semaphore_lock = threading.Lock()
_semaphore: tuple[int, threading.Semaphore | None] = (0, None)


def _concurrency_slot() -> threading.Semaphore | None:
    global _semaphore
    limit = int(STATE.config().get("lambda_max_concurrency") or 0)
    with _semaphore_lock:
        if _semaphore[0] != limit:
            _semaphore = (limit, threading.Semaphore(limit) if limit > 0 else None)
        return _semaphore[1]


def _error_payload(error_type: str, message: str, request_id: str, stack: list[str] | None = None) -> bytes:
    """The Invoke response body of a function error, as the Lambda Python runtime writes it."""
    body = {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack or []}
    return json.dumps(body).encode()


def _function_env(fn: Any, request_id: str, log_stream: str, task_root: Path) -> dict[str, str]:
    cfg = STATE.config()
    runtime_site = cfg.get("runtime_site")
    region = fn.region
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    for key in ("TMPDIR", "SYSTEMROOT"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    pythonpath = [str(task_root)] + ([str(Path(runtime_site).resolve())] if runtime_site else [])
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(Path(runtime_site).resolve()) if runtime_site else "",
            "AWS_ENDPOINT_URL": STATE.endpoint_url or "",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": fn.handler or "",
        }
    )
    return env


def _record(
    fn: Any,
    request_id: str,
    inv_type: str,
    seconds: float,
    peak_mb: float | None,
    error: str | None,
    injected: bool = False,
) -> None:
    STATE.append_jsonl(
        "invocations.jsonl",
        {
            "time": utc_now_iso(),
            "function": fn.function_name,
            "version": str(fn.version),
            "request_id": request_id,
            "invocation_type": inv_type,
            "seconds": round(seconds, 4),
            "peak_mb": round(peak_mb, 1) if peak_mb is not None else None,
            "memory_size_mb": int(fn.memory_size),
            "timeout_seconds": int(fn.timeout),
            "error": error,
            "injected_fault": injected,
        },
    )


def _append_function_log(fn: Any, text: str) -> None:
    with _log_lock(fn.function_name), open(STATE.path("logs", f"{fn.function_name}.log"), "a", encoding="utf-8") as f:
        f.write(text)
    try:  # also into moto's CloudWatch Logs (/aws/lambda/<name>), as the real service does
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.save_logs(text)
    except Exception:  # noqa: BLE001 - logs are best effort
        LOG.debug("could not copy logs of %s to CloudWatch Logs", fn.function_name, exc_info=True)


_log_locks: dict[str, threading.Lock] = {}


def _log_lock(name: str) -> threading.Lock:
    with _code_locks_guard:
        return _log_locks.setdefault(name, threading.Lock())


_warned_runtime_site = False


def _warn_without_runtime_site() -> None:
    global _warned_runtime_site
    if not _warned_runtime_site and not STATE.config().get("runtime_site"):
        _warned_runtime_site = True
        LOG.warning(
            "no runtime_site configured: Lambda handlers see no boto3 (the Lambda runtime provides it); "
            "set config runtime_site to a folder with boto3 & deps (e.g. `make lambda-runtime`)"
        )


def run_invocation(fn: Any, event_text: str, request_id: str, inv_type: str = "RequestResponse") -> Invocation:
    """Run the handler once in a subprocess and return what the Invoke API returns."""
    fault = faults.take("lambda", fn.function_name)
    if fault and not fault["error"].startswith("Lambda."):
        # A function error, as if the handler raised it (no subprocess).
        msg = fault.get("message") or f"fault injected by {STATE.path('faults.json')}"
        _record(fn, request_id, inv_type, 0.0, None, fault["error"], injected=True)
        return Invocation(_error_payload(fault["error"], msg, request_id), "Unhandled", fault["error"], "")
    if fault:
        code = fault["error"].split(".", 1)[1]
        _record(fn, request_id, inv_type, 0.0, None, fault["error"], injected=True)
        raise LambdaServiceError(
            code,
            fault.get("message") or f"fault injected by {STATE.path('faults.json')}",
            SERVICE_ERROR_STATUS.get(code, 500),
        )

    python = resolve_python(fn.run_time)
    task_root = extracted_code(fn)
    _warn_without_runtime_site()
    slot = _concurrency_slot()
    if slot:
        slot.acquire()
    workdir: Path | None = None
    try:
        workdir = Path(tempfile.mkdtemp(prefix="invoke-", dir=STATE.dir("tmp")))
        started_wall = time.time()
        date = time.strftime("%Y/%m/%d", time.gmtime(started_wall))
        log_stream = f"{date}/[{fn.version}]{uuid.uuid4().hex}"
        spec = {
            "handler": fn.handler,
            "function_name": fn.function_name,
            "function_version": str(fn.version),
            "invoked_function_arn": fn.function_arn,
            "memory_limit_in_mb": int(fn.memory_size),
            "aws_request_id": request_id,
            "log_group_name": fn.logs_group_name,
            "log_stream_name": log_stream,
            "deadline_epoch_ms": int((started_wall + float(fn.timeout)) * 1000),
        }
        (workdir / "invoke.json").write_text(json.dumps(spec), encoding="utf-8")
        (workdir / "event.json").write_text(event_text, encoding="utf-8")
        out_path = workdir / "output.log"
        sampled: dict[str, float | None] = {}

        def _before_kill(proc: subprocess.Popen) -> None:
            sampled["peak_mb"] = procs.vm_hwm_mb(proc.pid)

        with open(out_path, "wb") as out:
            result = procs.run(
                [python, "-S", str(BOOTSTRAP), str(workdir)],
                timeout=float(fn.timeout),
                before_kill=_before_kill,
                cwd=str(task_root),
                env=_function_env(fn, request_id, log_stream, task_root),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        output = out_path.read_text(encoding="utf-8", errors="replace")
        result_path = workdir / "result.json"
        error_type: str | None = None
        peak_mb: float | None = sampled.get("peak_mb")
        if result.timed_out:
            error_type = "Sandbox.Timedout"
            message = f"RequestId: {request_id} Error: Task timed out after {float(fn.timeout):.2f} seconds"
            payload, function_error = _error_payload(error_type, message, request_id), "Unhandled"
        elif result_path.exists():
            res = json.loads(result_path.read_text(encoding="utf-8"))
            if res.get("peak_rss_kb"):
                peak_mb = res["peak_rss_kb"] / 1024.0
            if res["ok"]:
                payload, function_error = res["payload"].encode(), None
            else:
                error_type = res["errorType"]
                payload = _error_payload(error_type, res["errorMessage"], request_id, res.get("stackTrace"))
                function_error = "Unhandled"
        else:
            error_type = "Runtime.ExitError"
            message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {result.returncode}"
            payload, function_error = _error_payload(error_type, message, request_id), "Unhandled"
        peak = f"{peak_mb:.0f}" if peak_mb is not None else "?"
        log_text = (
            f"START RequestId: {request_id} Version: {fn.version}\n"
            + output
            + ("" if not output or output.endswith("\n") else "\n")
            + (
                f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z {request_id} Task timed out after "
                f"{float(fn.timeout):.2f} seconds\n"
                if result.timed_out
                else ""
            )
            + f"END RequestId: {request_id}\n"
            + f"REPORT RequestId: {request_id}\tDuration: {result.seconds * 1000:.2f} ms\t"
            f"Memory Size: {fn.memory_size} MB\tMax Memory Used: {peak} MB\n"
        )
        _append_function_log(fn, log_text)
        _record(fn, request_id, inv_type, result.seconds, peak_mb, error_type)
        return Invocation(payload, function_error, error_type, log_text)
    finally:
        if slot:
            slot.release()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _header(headers: Any, name: str, default: str | None = None) -> str | None:
    if headers is None:
        return default
    try:
        value = headers.get(name)
        if value is None:
            value = headers.get(name.lower())
    except AttributeError:
        value = None
    return value if value is not None else default


def lambda_function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Replacement for moto's LambdaFunction.invoke(body, request_headers, response_headers)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    event_text = body if body else "{}"
    try:
        json.loads(event_text)
    except ValueError as exc:
        raise LambdaServiceError(
            "InvalidRequestContentException", f"Could not parse request body into json: {exc}", 400
        ) from exc
    inv_type = _header(request_headers, "X-Amz-Invocation-Type", "RequestResponse")
    if inv_type == "DryRun":
        return b""
    request_id = str(uuid.uuid4())
    if response_headers is not None:
        response_headers["x-amzn-RequestId"] = request_id
        response_headers["X-Amz-Executed-Version"] = str(self.version)
    if inv_type == "Event":

        def _background() -> None:
            try:
                run_invocation(self, event_text, request_id, inv_type)
            except Exception:  # noqa: BLE001
                LOG.exception("asynchronous invocation of %s failed", self.function_name)

        threading.Thread(target=_background, name=f"lambda-event-{self.function_name}", daemon=True).start()
        return b""
    inv = run_invocation(self, event_text, request_id, inv_type)
    if response_headers is not None:
        if inv.function_error:
            response_headers["x-amz-function-error"] = inv.function_error
        tail = inv.log_text.encode("utf-8")[-4096:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
    return inv.payload


def install() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original_function_invoke = LambdaFunction.invoke
    original_simple_invoke = LambdaSimpleBackend.invoke

    def invoke(self, body, request_headers, response_headers):
        if not STATE.active:  # no embedded AWS running in this process: plain moto (e.g. mock_aws tests)
            return original_function_invoke(self, body, request_headers, response_headers)
        return lambda_function_invoke(self, body, request_headers, response_headers)

    def simple_backend_invoke(self, *args, **kwargs):
        if not STATE.active:
            return original_simple_invoke(self, *args, **kwargs)
        return LambdaBackend.invoke(self, *args, **kwargs)

    LambdaFunction.invoke = invoke
    LambdaSimpleBackend.invoke = simple_backend_invoke
