"""Error types that reach the user as one clear line.

Every error a user can cause by bad input (a config key, a data file, a run
directory) is raised as a subclass of `DlsuiteError`. The CLI prints its
message on one line and exits non-zero; the app shows it in an error box.
Anything else is a bug and keeps its traceback.
"""


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
