"""The cluster a multi-worker run belongs to, read from `TF_CONFIG`.

`TF_CONFIG` is TensorFlow's standard description of a training cluster: a
JSON object with `cluster` (role -> list of `host:port`) and `task` (this
process's role and index). `read_tf_config` validates it so that a typo
gives one clear line instead of a hang or a gRPC traceback, and
`wait_for_peers` makes sure every other worker answers within a timeout
before TensorFlow blocks waiting for them.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass

from shared.errors import ConfigError, RunError, UnsupportedError

ROLES = ("chief", "worker")
UNSUPPORTED_ROLES = {
    "ps": "parameter servers (ParameterServerStrategy) are not supported; use chief/worker roles",
    "evaluator": "a side-car evaluator is not supported; every run evaluates on its test split when training ends",
}


@dataclass(frozen=True)
class ClusterSpec:
    """A validated `TF_CONFIG`: every address, and which one is this process."""

    addresses: dict[str, list[str]]
    role: str
    index: int

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.addresses.values())

    @property
    def is_chief(self) -> bool:
        """The chief writes the run directory: the `chief` task, else worker 0."""
        if "chief" in self.addresses:
            return self.role == "chief"
        return self.role == "worker" and self.index == 0

    @property
    def me(self) -> str:
        return self.addresses[self.role][self.index]

    def peers(self) -> list[str]:
        return [a for role in self.addresses for i, a in enumerate(self.addresses[role]) if (role, i) != (self.role, self.index)]


def _address(text, where: str) -> str:
    if not isinstance(text, str) or text.count(":") < 1:
        raise ConfigError(f"TF_CONFIG {where} must be a 'host:port' string, got {text!r}")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"TF_CONFIG {where} must be a 'host:port' string with a port in 1-65535, got {text!r}")
    return text


def read_tf_config(raw: str | None = None) -> ClusterSpec | None:
    """Parse and validate `TF_CONFIG` (from the environment by default).

    Returns None when it is unset or empty (a single-machine run).

    Raises:
        ConfigError: the JSON is malformed or does not describe this task.
        UnsupportedError: it asks for roles the suite does not run.
    """
    raw = os.environ.get("TF_CONFIG", "") if raw is None else raw
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"TF_CONFIG is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task', got {type(data).__name__}")
    cluster, task = data.get("cluster"), data.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ConfigError("TF_CONFIG has no 'cluster' object (role -> list of 'host:port')")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ConfigError("TF_CONFIG has no 'task' object with 'type' and 'index' (which member of the cluster this process is)")
    addresses: dict[str, list[str]] = {}
    for role, members in cluster.items():
        if role in UNSUPPORTED_ROLES:
            raise UnsupportedError(f"TF_CONFIG role {role!r}: {UNSUPPORTED_ROLES[role]}")
        if role not in ROLES:
            raise ConfigError(f"TF_CONFIG cluster role {role!r} is unknown; use {' and '.join(ROLES)}")
        if not isinstance(members, list) or not members:
            raise ConfigError(f"TF_CONFIG cluster.{role} must be a non-empty list of 'host:port' strings")
        addresses[role] = [_address(m, f"cluster.{role}[{i}]") for i, m in enumerate(members)]
    if len(addresses.get("chief", [])) > 1:
        raise ConfigError("TF_CONFIG may name at most one chief")
    every = [a for members in addresses.values() for a in members]
    if len(set(every)) != len(every):
        raise ConfigError("TF_CONFIG lists the same address twice")
    role, index = task["type"], task["index"]
    if role not in addresses:
        raise ConfigError(f"TF_CONFIG task.type {role!r} is not a role in the cluster ({', '.join(addresses)})")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(addresses[role]):
        raise ConfigError(f"TF_CONFIG task.index {index!r} is out of range: cluster.{role} has {len(addresses[role])} member(s)")
    return ClusterSpec(addresses=addresses, role=role, index=index)


def _answers(address: str, timeout: float) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_peers(spec: ClusterSpec, timeout: float, poll: float = 0.5) -> None:
    """Block until every other member accepts a TCP connection.

    Raises:
        RunError: some member did not answer within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    waiting = spec.peers()
    while waiting:
        waiting = [a for a in waiting if not _answers(a, timeout=min(2.0, poll * 4))]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise RunError(
                f"worker(s) {', '.join(waiting)} did not answer within {timeout:g} s; start `dlsuite train` on every "
                "machine in TF_CONFIG with the same arguments, and check the addresses and firewalls"
            )
        time.sleep(poll)


def rendezvous(spec: ClusterSpec, timeout: float) -> None:
    """Wait, with a deadline, until every member of the cluster has started.

    TensorFlow blocks in C++ without a deadline while it waits for absent
    workers, where no Python code can interrupt it. So before handing over,
    each worker answers on its own address with a plain socket and waits
    until every peer answers (on its socket, or on TensorFlow's server if
    that peer is already further along).

    Raises:
        RunError: this worker's port is taken, or a peer stayed silent for
            `timeout` seconds.
    """
    _, _, port = spec.me.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(port)))
    except OSError as exc:
        listener.close()
        raise RunError(f"cannot listen on {spec.me} (this worker's TF_CONFIG address): {exc.strerror}") from None
    listener.listen(16)

    def answer():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # shut down: the rendezvous is over
                return
            # Reset instead of a graceful close, so that no TIME_WAIT entry
            # keeps the port from TensorFlow's server a moment later.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=answer, name="dlsuite-rendezvous", daemon=True)
    thread.start()
    try:
        wait_for_peers(spec, timeout)
    finally:
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        listener.close()
        thread.join(timeout=5)
