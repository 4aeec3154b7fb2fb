"""atomic_write gives new files the permissions open() would, and keeps those of a replaced file."""

import os
import stat

from xprop.files import atomic_write


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umask_permissions_not_mkstemps_0600(tmp_path):
    umask = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "a.bin") as f:
            f.write(b"x")
    finally:
        os.umask(umask)
    assert mode(tmp_path / "a.bin") == 0o640


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "b.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o604)
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o604
