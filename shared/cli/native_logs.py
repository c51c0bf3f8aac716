"""Keep TensorFlow's C++ start-up logging off the terminal of a `dlsuite` command.

TensorFlow 2.21 writes its start-up notes (oneDNN, CUDA drivers, cuInit)
through absl before absl's logging is initialised, so `TF_CPP_MIN_LOG_LEVEL`
does not reach them, and a failed command would print about seven lines of
them before its own one-line error. `filter_native_logs()` routes the
process's stderr file descriptor through a thread that drops lines in the
C++ log format and passes everything else on unchanged.

The `dlsuite` command installs the filter unless the user has set
`TF_CPP_MIN_LOG_LEVEL`, who then gets TensorFlow's own logging untouched.
"""

from __future__ import annotations

import atexit
import os
import re
import threading

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"

# absl/glog lines: "I0000 00:00:1796236457.586059   26430 port.cc:153] ...",
# and absl's own notice that logging is not initialised yet.
NATIVE_LOG_LINE = re.compile(rb"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [^ \]]+:\d+\]|WARNING: All log messages before absl::InitializeLog\(\))")


def is_native_log_line(line: bytes) -> bool:
    """Whether `line` is a C++ log line of TensorFlow or absl.

    Example:

    >>> is_native_log_line(b"I0000 00:00:1796236457.586059   26430 port.cc:153] oneDNN custom operations are on.")
    True
    >>> is_native_log_line(b"dlsuite: error: data file not found: x.csv")
    False
    """
    return bool(NATIVE_LOG_LINE.match(line))


def filter_native_logs() -> None:
    """Drop TensorFlow's C++ log lines from this process's stderr.

    Call it once, before TensorFlow is imported, and only where the user has
    not set `TF_CPP_MIN_LOG_LEVEL`. The filter is removed at exit, after
    everything written has passed; child processes inherit it.
    """
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as source:
            pending = b""
            while chunk := source.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                kept = b"".join(line + b"\n" for line in lines if not is_native_log_line(line))
                if kept:
                    os.write(terminal, kept)
            if pending and not is_native_log_line(pending):
                os.write(terminal, pending)

    thread = threading.Thread(target=forward, name="native-log-filter", daemon=True)
    thread.start()

    def restore() -> None:
        import sys

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os.dup2(terminal, 2)  # closes the pipe's last write end in this process
        thread.join(timeout=5)
        if not thread.is_alive():  # still forwarding (a child holds the pipe): leave its target open
            os.close(terminal)

    atexit.register(restore)
