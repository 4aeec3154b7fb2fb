"""Errors of the data module: a file that is not what it claims, or a dataset not found."""

from ..errors import InputError
from ..memory import MemoryLimitError


class DataError(InputError):
    """A data file is missing, truncated, corrupt or of the wrong kind; the message names it."""


class DataTooLargeError(DataError, MemoryLimitError):
    """A data file announces more data than the memory allowed (``max_memory`` or what
    the machine has available) can hold as float32; refused before any of it is read.
    ``needed``, ``limit``, ``what`` and ``source`` as in MemoryLimitError."""


class DatasetNotFoundError(DataError):
    """A named dataset is nowhere on this machine and could not be downloaded.

    The message lists every place looked at and every way to fix it.
    """


class DownloadError(DataError):
    """One download failed (network, HTTP status, interrupted, wrong checksum).

    ``unreachable`` is true when the server could not be reached at all, so that the
    other files are not tried from the same mirror.
    """

    def __init__(self, message, *, unreachable=False):
        super().__init__(message)
        self.unreachable = unreachable
