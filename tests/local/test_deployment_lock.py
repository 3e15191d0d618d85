"""One local deployment per state directory: a second `make bench` or `make run` from the same checkout stops
at once and says who holds it, instead of replacing the first one's stack while it runs."""

import errno
import subprocess
import sys
import textwrap

import pytest

from local import deployment as local_deployment
from local.deployment import LocalDeployment, StateDirectoryInUse, StateDirectoryLock
from tests.support import REPO

HOLD_THE_LOCK = textwrap.dedent(
    """
    import sys, time
    from local.deployment import StateDirectoryLock
    lock = StateDirectoryLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def holder(tmp_path):
    """Another process that holds the state directory's lock until it is killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_second_deployment_of_a_held_state_directory_stops_before_starting_anything(tmp_path, holder, monkeypatch):
    def started(**_):
        raise AssertionError("the embedded AWS was started in a state directory another deployment holds")

    monkeypatch.setattr(local_deployment, "EmbeddedAWS", started)
    with pytest.raises(StateDirectoryInUse) as refused, LocalDeployment(state_dir=tmp_path):
        pass
    message = str(refused.value)
    assert f"{tmp_path} is in use by another local deployment (pid {holder.pid}," in message
    assert "another clone" in message
    assert not (tmp_path / "aws").exists() and not (tmp_path / "terraform").exists()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path, holder):
    with pytest.raises(StateDirectoryInUse):
        StateDirectoryLock(tmp_path).acquire()
    holder.kill()
    holder.wait()
    lock = StateDirectoryLock(tmp_path)
    lock.acquire()
    lock.release()


def test_a_deployment_that_fails_to_start_releases_its_state_directory(tmp_path, monkeypatch):
    class Unstartable:
        def __init__(self, **_):
            pass

        def start(self):
            raise RuntimeError("the embedded AWS did not start")

    monkeypatch.setattr(local_deployment, "EmbeddedAWS", Unstartable)
    monkeypatch.setattr(local_deployment, "RUNTIME_SITE", tmp_path)
    (tmp_path / "boto3").mkdir()
    with pytest.raises(RuntimeError, match="did not start"), LocalDeployment(state_dir=tmp_path / "state"):
        pass
    lock = StateDirectoryLock(tmp_path / "state")
    lock.acquire()  # free again
    lock.release()


def test_a_holder_that_cannot_write_its_name_releases_the_lock_at_once(tmp_path, monkeypatch):
    class FullDisk:
        """The lock file as a full disk has it: it opens and locks, but nothing can be written into it."""

        def __init__(self, path, mode):
            self._file = open(path, mode)  # noqa: SIM115 - closed by close()

        def fileno(self):
            return self._file.fileno()

        def truncate(self, size):
            return self._file.truncate(size)

        def write(self, _text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self._file.close()

    with monkeypatch.context() as patched:
        patched.setattr(local_deployment, "open", FullDisk, raising=False)
        with pytest.raises(OSError, match="No space left") as failed:
            StateDirectoryLock(tmp_path).acquire()
    # The exception and its traceback are still alive here, as in a caller that reports them: the lock is free anyway.
    assert failed.value.errno == errno.ENOSPC
    lock = StateDirectoryLock(tmp_path)
    lock.acquire()
    lock.release()
