"""The named datasets xprop knows: their files, checksums, mirrors and system places.

Checksums are SHA-256 of each ``.gz`` file exactly as the mirrors serve it. Sources:

* MNIST: tensorflow/datasets, ``tensorflow_datasets/url_checksums/mnist.txt`` (for the
  CVDF mirror, which serves the same bytes as LeCun's page and PyTorch's mirror).
* Fashion-MNIST: tensorflow/datasets, ``tensorflow_datasets/url_checksums/fashion_mnist.txt``.
  Cross-checked on the files of Debian's ``dataset-fashion-mnist`` (2020): Debian's
  strip-nondeterminism removed the stored file name and reset the time stamp in each gzip
  header, leaving the compressed data untouched; putting the name and the original time
  stamp (2017-08-31 10:50 UTC) back gives exactly these four checksums
  (tests/test_data_catalog.py redoes this where the package is installed).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class RemoteFile:
    name: str      # as on the mirrors, e.g. "train-images-idx3-ubyte.gz"
    sha256: str    # of the .gz as served
    size: int      # bytes, as served

    @property
    def stem(self):
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset of four IDX files: training and test images and labels."""

    name: str
    title: str
    mirrors: tuple           # base URLs, tried in order
    files: dict              # role -> RemoteFile
    system_dirs: tuple = ()  # where an OS package installs the files
    system_package: str | None = None
    nielsen_pickle: bool = False  # whether Nielsen's mnist.pkl.gz may stand in for the IDX files

    def local_names(self, role):
        """File names accepted on disk for ``role``: gzip, raw, and the raw name with a dot."""
        stem = self.files[role].stem  # train-images-idx3-ubyte
        dotted = stem.replace("-idx", ".idx", 1)  # train-images.idx3-ubyte (another common spelling)
        return (self.files[role].name, stem, dotted)

    @property
    def download_size(self):
        return sum(f.size for f in self.files.values())


def _files(*entries):
    return {role: RemoteFile(name, sha, size) for role, (name, sha, size) in zip(ROLES, entries)}


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST handwritten digits (LeCun, Cortes, Burges)",
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",  # the mirror TFDS uses
        "https://ossci-datasets.s3.amazonaws.com/mnist/",        # the mirror torchvision uses
        "http://yann.lecun.com/exdb/mnist/",                     # the original page
    ),
    files=_files(
        ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
        ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    ),
    nielsen_pickle=True,
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST clothing images (Zalando Research)",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # the project's README
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
    files=_files(
        ("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
        ("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
        ("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
        ("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    system_package="dataset-fashion-mnist",
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}
