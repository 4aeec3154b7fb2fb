"""Downloading a dataset's files: from each mirror in turn, checked, moved into place atomically.

Every file is streamed into a temporary file beside its destination while its SHA-256
is computed. Only when the byte count matches what the server announced (and what the
catalog says) and the checksum matches the published one is it renamed into place
(``xprop.io.atomic.atomic_write``); an interrupted or corrupted download leaves nothing
behind, so the next run starts again cleanly.
"""

from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import Setting
from ..io.atomic import atomic_write
from ..progress import ProgressBar
from .catalog import ROLES, DatasetSpec, RemoteFile
from .errors import DataError, DownloadError

CHUNK = 1 << 16
TIMEOUT = 30  # seconds without data before a mirror is given up


def fetch(url, destination, expected: RemoteFile, *, timeout=TIMEOUT, log=None):
    """Download ``url`` to ``destination``; DownloadError (nothing written) unless it is ``expected``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.length  # from Content-Length; None if the server did not say
            with atomic_write(destination) as out:
                received, digest = _stream(response, out, announced or expected.size, expected.name, log)
                _verify(received, digest, announced, expected)
    except DownloadError:
        raise
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"cannot connect: {exc.reason}", unreachable=True) from None
    except TimeoutError:
        raise DownloadError(f"no data for {timeout} s", unreachable=True) from None
    except (OSError, http.client.HTTPException) as exc:  # resets, broken responses
        raise DownloadError(f"{type(exc).__name__}: {exc}") from None


def _stream(response, out, total, name, log):
    digest = hashlib.sha256()
    received = 0
    with ProgressBar(total, label=name, unit="B", stream=log, enabled=None if log else False) as bar:
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            received += len(chunk)
            bar.update(received)
    return received, digest.hexdigest()


def _verify(received, digest, announced, expected):
    if announced is not None and received != announced:
        raise DownloadError(f"interrupted: received {received:,} of {announced:,} bytes")
    if received != expected.size:
        raise DownloadError(f"wrong size: {received:,} bytes, expected {expected.size:,}")
    if digest != expected.sha256:
        raise DownloadError(f"checksum mismatch: sha256 {digest}, expected {expected.sha256}")


def download_dataset(spec: DatasetSpec, directory, *, missing=ROLES, timeout=TIMEOUT, log=sys.stderr):
    """Fetch the files of ``spec`` listed in ``missing`` into ``directory``.

    Returns the list of failures, one line per attempt that did not succeed; the
    dataset is complete when every missing file was fetched from some mirror. A mirror
    that cannot be reached at all is not tried again for the remaining files, so an
    offline machine fails after one attempt per mirror.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {directory} to download {spec.name} into ({exc.strerror or exc}); "
                        "set XDG_CACHE_HOME to a writable place, or put the files in a folder and pass ",
                        Setting("data_dir", "FOLDER")) from None
    failures, unreachable = [], set()
    for role in missing:
        remote = spec.files[role]
        for mirror in [m for m in spec.mirrors if m not in unreachable]:
            url = mirror + remote.name
            if log:
                print(f"xprop: downloading {url}", file=log, flush=True)
            try:
                fetch(url, directory / remote.name, remote, timeout=timeout, log=log)
                break
            except DownloadError as exc:
                failures.append(f"{url}: {exc}")
                if exc.unreachable:
                    unreachable.add(mirror)  # not tried again for the other files
                if log:
                    print(f"xprop: {url} failed: {exc}", file=log, flush=True)
    return failures
