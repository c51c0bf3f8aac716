"""`dlsuite demo`: private to this machine unless asked, bounded uploads, one runs root."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from tests_support import PROCESSES, dlsuite_cmd

from shared import demo
from shared.cli import commands
from shared.cli.main import main

START_TIMEOUT = 90  # seconds for `dlsuite demo` to import, start Streamlit and answer its health check
STOP_TIMEOUT = 15


@pytest.fixture
def launched(monkeypatch):
    """Stand-in for `subprocess.call`: records the command and environment instead of starting Streamlit."""
    calls = []
    monkeypatch.setattr(commands.subprocess, "call", lambda cmd, env=None: calls.append((cmd, env)) or 0)
    return calls


def _option(cmd: list[str], name: str) -> str:
    assert cmd.count(name) == 1, cmd
    return cmd[cmd.index(name) + 1]


def test_demo_binds_localhost_by_default(launched, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default runs root, runs/, need not exist yet
    assert main(["demo", "--port", "8600"]) == 0
    (cmd, env), = launched
    out, err = capsys.readouterr()
    assert cmd[1:5] == ["-m", "streamlit", "run", str(demo.REPO_ROOT / "apps" / "app.py")]
    assert _option(cmd, "--server.address") == "127.0.0.1"
    assert _option(cmd, "--server.port") == "8600"
    assert _option(cmd, "--server.maxUploadSize") == str(demo.MAX_UPLOAD_MB)
    assert env[demo.RUNS_ROOT_ENV] == str(tmp_path / "runs")
    assert "http://localhost:8600" in out
    assert err == ""


def test_demo_host_warns_and_is_passed(launched, capsys, tmp_path):
    assert main(["demo", "--host", "0.0.0.0", "--runs-root", str(tmp_path), "--max-upload-mb", "5"]) == 0
    (cmd, env), = launched
    _, err = capsys.readouterr()
    assert _option(cmd, "--server.address") == "0.0.0.0"
    assert _option(cmd, "--server.maxUploadSize") == "5"
    assert env[demo.RUNS_ROOT_ENV] == str(tmp_path)
    warning, = err.splitlines()
    assert warning.startswith("dlsuite: warning: the demo app listens on 0.0.0.0:8501; anyone who can reach that port")
    assert "upload files" in warning


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_a_loopback_host_is_passed_without_a_warning(launched, capsys, host):
    assert main(["demo", "--host", host]) == 0
    assert _option(launched[0][0], "--server.address") == host
    assert capsys.readouterr().err == ""


def test_relative_runs_root_is_passed_as_an_absolute_path(launched, tmp_path, monkeypatch):
    (tmp_path / "my-runs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--runs-root", "my-runs"]) == 0
    assert launched[0][1][demo.RUNS_ROOT_ENV] == str(tmp_path / "my-runs")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--runs-root", "{tmp}/nowhere"], "dlsuite: error: --runs-root is not a directory: {tmp}/nowhere"),
        (["--runs-root", "{tmp}/file.txt"], "dlsuite: error: --runs-root is not a directory: {tmp}/file.txt"),
        (["--max-upload-mb", "0"], "dlsuite: error: --max-upload-mb must be at least 1, received 0"),
        (["--max-upload-mb", "lots"], "dlsuite: error: argument --max-upload-mb: invalid int value: 'lots'"),
        (["--port", "70000"], "dlsuite: error: --port must be between 1 and 65535, received 70000"),
        (["--host", " "], "dlsuite: error: --host must be an address or host name, received ' '"),
    ],
    ids=["missing-root", "root-is-a-file", "zero-upload", "non-int-upload", "port-range", "blank-host"],
)
def test_bad_demo_options_are_one_line(launched, capsys, tmp_path, argv, message):
    (tmp_path / "file.txt").write_text("")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code = main(["demo", *argv])
    except SystemExit as exc:  # argparse's own type errors
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [line for line in err.splitlines() if line.startswith("dlsuite: error:")]
    assert err.splitlines()[0].startswith(message.replace("{tmp}", str(tmp_path)))
    assert not launched


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> list[str]:
    """Local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6), as hex."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.append(address)
    return found


def _healthy(port: int) -> bool:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an HTTP proxy
    with contextlib.suppress(OSError):
        with direct.open(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return response.status == 200
    return False


@PROCESSES
@pytest.mark.slow
def test_demo_server_listens_on_localhost_only(tmp_path):
    port = _free_port()
    env = {**os.environ, "DLSUITE_DEMO_DIR": str(tmp_path / "demo_models")}
    log = (tmp_path / "demo.log").open("w")
    # Its own session, so the Streamlit child is stopped with the `dlsuite` parent.
    server = subprocess.Popen(dlsuite_cmd("demo", "--port", str(port)), cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(port):
            assert server.poll() is None, (tmp_path / "demo.log").read_text()
            assert time.monotonic() < deadline, f"no health answer within {START_TIMEOUT}s: {(tmp_path / 'demo.log').read_text()}"
            time.sleep(0.5)
        assert _listening(port) == ["0100007F"]  # 127.0.0.1 only: no 0.0.0.0, no IPv6 wildcard
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):  # whatever of the group is left, e.g. a Streamlit child
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=STOP_TIMEOUT)
        log.close()
