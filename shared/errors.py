"""Error types that reach the user as one clear line.

Every error a user can cause by bad input (a config key, a data file, a run
directory) is raised as a subclass of `DlsuiteError`. The CLI prints its
message on one line and exits non-zero; the app shows it in an error box.
Anything else is a bug and keeps its traceback.
"""

import re


class DlsuiteError(Exception):
    """Base class for errors caused by user input."""

    exit_code = 2


class ConfigError(DlsuiteError):
    """A config file or `--set` override is invalid."""


class DataError(DlsuiteError):
    """Input data is missing, empty, or does not match the expected schema."""


class RunError(DlsuiteError):
    """A run directory is missing, incomplete or unreadable."""


class UnknownNameError(DlsuiteError):
    """A name (domain, task, model type, optimizer...) is not registered."""


class UnsupportedError(DlsuiteError):
    """The task does not offer this capability (e.g. `explain`)."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first meaningful line of an exception's message, for a one-line error.

    TensorFlow's `{{function_node ...}}` prefixes and `[Op:...]` suffixes are
    dropped; an empty message gives the exception's type name.

    Example:

    >>> first_line(ValueError("bad header\\nmore detail"))
    'bad header'
    """
    text = getattr(exc, "message", None) or str(exc)
    text = re.sub(r"\{\{function_node [^}]*\}\}|\[Op:[^\]]*\].*", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:limit]
