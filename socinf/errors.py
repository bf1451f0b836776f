"""The one exception type the CLI turns into a single clear error line.

Raise ``SocinfError`` for any bad input (config value, data file, checksum, API
response): the message must name the bad value and what is expected. The CLI
prints ``socinf: error: <message>`` and exits with status 2, never a traceback.
"""


class SocinfError(Exception):
    """User-facing error: the message is printed as one line, no traceback."""


class ConfigError(SocinfError):
    """A config value is out of range or inconsistent (raised before any work)."""


class DataError(SocinfError):
    """A corpus file is missing, corrupt, or fails its SHA-256 check."""


class QueryBudgetExceeded(SocinfError):
    """The next query batch would exceed ``target.max_queries``."""


class TargetAnswerError(SocinfError):
    """The model under audit answered something that is not a matrix of class probabilities."""


class RemoteTargetError(SocinfError):
    """The prediction API answered with an error or a malformed response."""


class StorageError(SocinfError):
    """A file could not be written: no space left, a read-only file system, no permission (``socinf.io``)."""
