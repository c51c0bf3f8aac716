"""`RunLock`: one writer per run directory, stale locks taken over, foreign ones refused."""

import json
import os
import subprocess
import sys
import threading

import pytest

from shared.run_lock import LOCK_NAME, LockHolder, RunDirInUseError, RunLock


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(run_dir, **fields):
    holder = {**json.loads(LockHolder.this_process().to_json()), **fields}
    (run_dir / LOCK_NAME).write_text(json.dumps(holder))


def test_the_lock_names_its_holder_and_is_released(tmp_path):
    with RunLock(tmp_path) as lock:
        holder = lock.holder()
        assert holder.pid == os.getpid() and holder.host == LockHolder.this_process().host
        assert holder.started and holder.alive()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_writer_is_refused_with_the_holder(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunDirInUseError) as info:
            RunLock(tmp_path).acquire()
    message = str(info.value)
    assert f"run directory {tmp_path} is in use by pid {os.getpid()} on host " in message
    assert "\n" not in message


def test_released_on_exceptions_and_keyboard_interrupt(tmp_path):
    for exc in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), RunLock(tmp_path):
            raise exc
        assert not (tmp_path / LOCK_NAME).exists()


def test_a_lock_whose_process_is_gone_is_taken_over(tmp_path, capsys):
    write_lock(tmp_path, pid=dead_pid())
    with RunLock(tmp_path) as lock:
        assert lock.holder().pid == os.getpid()
    assert "taking over the stale lock" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process start times come from /proc")
def test_a_reused_pid_is_recognised_by_its_start_time(tmp_path, capsys):
    # Our own pid is alive, but a lock taken by an earlier process with this pid started at another time.
    write_lock(tmp_path, process_start=LockHolder.this_process().process_start - 1)
    with RunLock(tmp_path):
        pass
    assert "taking over the stale lock" in capsys.readouterr().err


def test_a_lock_from_another_boot_is_stale(tmp_path):
    write_lock(tmp_path, boot_id="another-boot")
    if LockHolder.this_process().boot_id is None:
        pytest.skip("no boot id on this platform")
    with RunLock(tmp_path):
        pass


def test_a_lock_from_another_host_is_refused_with_how_to_remove_it(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), host="elsewhere")
    with pytest.raises(RunDirInUseError, match=rf"locked by pid \d+ on host elsewhere .*cannot be checked from this host; if that process is gone, remove .*{LOCK_NAME}"):
        RunLock(tmp_path).acquire()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["host"] == "elsewhere"


def test_another_pid_namespace_counts_as_another_host(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), pid_namespace="pid:[1]")
    if LockHolder.this_process().pid_namespace in (None, "pid:[1]"):
        pytest.skip("no pid namespaces on this platform")
    with pytest.raises(RunDirInUseError, match="cannot be checked from this host"):
        RunLock(tmp_path).acquire()


def test_an_unreadable_lock_is_refused(tmp_path):
    path = tmp_path / LOCK_NAME
    path.write_text("not json")
    with pytest.raises(RunDirInUseError, match="being locked by another process just now"):
        RunLock(tmp_path).acquire()
    os.utime(path, (0, 0))  # long past the moment a writer fills it in
    with pytest.raises(RunDirInUseError, match=f"unreadable lock file {path}; if no other dlsuite process"):
        RunLock(tmp_path).acquire()


def test_a_missing_directory_is_a_run_error(tmp_path):
    with pytest.raises(Exception, match="run directory not found"):
        RunLock(tmp_path / "nope").acquire()


def test_racing_takeovers_of_a_stale_lock_leave_one_holder(tmp_path):
    write_lock(tmp_path, pid=dead_pid())
    won, refused, barrier = [], [], threading.Barrier(8)

    def contend():
        lock = RunLock(tmp_path)
        barrier.wait()
        try:
            lock.acquire()
            won.append(lock)
        except RunDirInUseError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Threads share a pid, so the winner's lock reads as alive to the rest.
    assert len(won) == 1 and len(refused) == 7
    won[0].release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_importable_without_tensorflow():
    code = "import sys, shared.run_lock; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
