"""The catalog's checksums and names, checked against the files Debian installs.

Debian's dataset-fashion-mnist ships the canonical .gz files with two header fields
normalized by strip-nondeterminism: the stored file name is removed and the time stamp
set to the package's build time. The compressed data is untouched, so putting the name
and the original time stamp back must reproduce the published SHA-256 exactly.
"""

import hashlib
import struct
from pathlib import Path

import pytest

from xprop.data import DATASETS
from xprop.data.catalog import ROLES

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
#: the gzip time stamps of the canonical files (found by matching the published checksums)
ORIGINAL_MTIME = {"train_images": 1504176606, "train_labels": 1504176606,
                  "test_images": 1504176627, "test_labels": 1504176627}
FNAME = 0x08  # gzip header flag: an original file name follows the 10-byte header


def canonical_gzip(debian_bytes, name, mtime):
    assert debian_bytes[:3] == b"\x1f\x8b\x08" and debian_bytes[3] == 0, "expected a gzip header without a name"
    flags = bytes([debian_bytes[3] | FNAME])
    return (debian_bytes[:3] + flags + struct.pack("<I", mtime) + debian_bytes[8:10]
            + name.encode() + b"\0" + debian_bytes[10:])


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("role", ROLES)
def test_fashion_mnist_checksums_match_debians_files(role):
    remote = DATASETS["fashion-mnist"].files[role]
    rebuilt = canonical_gzip((DEBIAN / remote.name).read_bytes(), remote.stem, ORIGINAL_MTIME[role])
    assert len(rebuilt) == remote.size
    assert hashlib.sha256(rebuilt).hexdigest() == remote.sha256


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_catalog_entries_are_well_formed(name):
    spec = DATASETS[name]
    assert set(spec.files) == set(ROLES)
    for remote in spec.files.values():
        assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0
        assert remote.name.endswith("-ubyte.gz") and remote.size > 0
    assert all(m.startswith(("http://", "https://")) and m.endswith("/") for m in spec.mirrors)
