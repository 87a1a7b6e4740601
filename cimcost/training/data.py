"""Data sets for the training engine.  Nothing is ever downloaded.

* ``digits``: the UCI optical digits (8x8, 1797 samples, 10 classes) through scikit-learn's
  bundled copy (``pip install cimcost[experiments]``); split 80/20 with a fixed seed.
* ``synthetic-regression`` / ``synthetic-classification``: the two generated tasks of the
  DRTP paper (Frenkel et al. 2021, section 4), made here with numpy.
* ``mnist`` / ``fashion-mnist``: files the user already has, as IDX (``*-idx3-ubyte`` with or
  without ``.gz``) or as an ``.npz`` with ``x_train, y_train, x_test, y_test``; looked up in the
  path given, then in ``$CIMCOST_DATA/<name>`` and ``/usr/share/datasets/<name>``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import InputError

Task = Literal["classification", "regression"]

DATASETS = ("digits", "synthetic-classification", "synthetic-regression", "mnist", "fashion-mnist")
SEARCH_DIRS = ("/usr/share/datasets",)


@dataclass
class Dataset:
    name: str
    task: Task
    x_train: np.ndarray  # (n, features) float
    y_train: np.ndarray  # classification: int labels (n,); regression: targets (n, outputs)
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def outputs(self) -> int:
        if self.task == "classification":
            return int(max(self.y_train.max(), self.y_test.max())) + 1
        return int(self.y_train.shape[1])

    def subset(self, train: int | None = None, test: int | None = None) -> Dataset:
        """The first ``train`` training and ``test`` test samples (None: all)."""
        return Dataset(self.name, self.task, self.x_train[:train], self.y_train[:train],
                       self.x_test[:test], self.y_test[:test])


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def digits(seed: int = 0) -> Dataset:
    """scikit-learn's copy of the UCI optdigits set, pixels scaled to [0, 1], 80/20 split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("the digits data set is read from scikit-learn, which is not installed",
                         field="--dataset",
                         expected="pip install 'cimcost[experiments]' (or scikit-learn)") from None
    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    return Dataset("digits", "classification", *_split(x, y, 0.2, seed))


def synthetic_regression(n_train: int = 5000, n_test: int = 1000, features: int = 256,
                         outputs: int = 10, seed: int = 0) -> Dataset:
    """DRTP paper, section 4.1: x has ``features`` entries ~ N(mu, 1), mu ~ U(-pi, pi);
    target j is cos(mean(x) + phi_j), phi_j = -pi/2 + j pi/9."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    mu = rng.uniform(-np.pi, np.pi, size=(n, 1))
    x = rng.normal(mu, 1.0, size=(n, features))
    phi = -np.pi / 2 + np.arange(outputs) * np.pi / 9
    y = np.cos(x.mean(axis=1, keepdims=True) + phi[None, :])
    return Dataset("synthetic-regression", "regression", x[:n_train], y[:n_train], x[n_train:],
                   y[n_train:])


def synthetic_classification(n_train: int = 25000, n_test: int = 5000, features: int = 256,
                             informative: int = 128, classes: int = 10, clusters_per_class: int = 5,
                             class_sep: float = 4.5, seed: int = 0) -> Dataset:
    """DRTP paper, section 4.2, after the recipe of scikit-learn's ``make_classification``:
    per class ``clusters_per_class`` Gaussian clusters centred on distinct vertices of a
    hypercube of side 2*class_sep in the ``informative`` dimensions, each cluster with its own
    random covariance; the remaining features are N(0, 1) noise.  Features are standardised
    with the training-set statistics."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    n_clusters = classes * clusters_per_class
    vertices: set[tuple[int, ...]] = set()
    while len(vertices) < n_clusters:
        vertices.add(tuple(rng.integers(0, 2, size=informative).tolist()))
    centroids = (2.0 * np.array(sorted(vertices), dtype=np.float64) - 1.0) * class_sep
    centroids = centroids[rng.permutation(n_clusters)]
    cluster = rng.integers(0, n_clusters, size=n)
    x = np.empty((n, features))
    for c in range(n_clusters):
        rows = np.flatnonzero(cluster == c)
        mix = 2.0 * rng.random((informative, informative)) - 1.0
        x[rows, :informative] = rng.standard_normal((len(rows), informative)) @ mix + centroids[c]
    x[:, informative:] = rng.standard_normal((n, features - informative))
    x = x[:, rng.permutation(features)]
    y = (cluster % classes).astype(np.int64)
    mean, std = x[:n_train].mean(axis=0), x[:n_train].std(axis=0) + 1e-12
    x = (x - mean) / std
    return Dataset("synthetic-classification", "classification", x[:n_train], y[:n_train],
                   x[n_train:], y[n_train:])


# --------------------------------------------------------------------------- MNIST-like files

_IDX_TYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (the MNIST format), gzip-compressed or not."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise InputError("not an IDX file", file=str(path), expected="the MNIST IDX format")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(dims)) if dims else 0
    start = 4 + 4 * ndim
    if len(raw) < start + count * dtype.itemsize:
        raise InputError("IDX file is shorter than its header says", file=str(path))
    return np.frombuffer(raw, dtype=dtype, count=count, offset=start).reshape(dims)


_IDX_NAMES = {"x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
              "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
              "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
              "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte")}


def _find_idx(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for suffix in ("", ".gz"):
            p = folder / (name + suffix)
            if p.is_file():
                return p
    return None


def load_mnist_like(path: str | Path, name: str = "mnist") -> Dataset:
    """MNIST-format data from a folder of IDX files or an ``.npz`` file; pixels scaled to [0, 1]."""
    p = Path(path)
    arrays: dict[str, np.ndarray] = {}
    if p.is_file() and p.suffix == ".npz":
        with np.load(p) as npz:
            missing = [k for k in _IDX_NAMES if k not in npz.files]
            if missing:
                raise InputError(f"the .npz file lacks {', '.join(missing)}", file=str(p),
                                 expected="arrays x_train, y_train, x_test, y_test")
            arrays = {k: np.asarray(npz[k]) for k in _IDX_NAMES}
    elif p.is_dir():
        for key, names in _IDX_NAMES.items():
            found = _find_idx(p, names)
            if found is None:
                raise InputError(f"no {names[0]}[.gz] in {p}", file=str(p),
                                 expected="the four MNIST IDX files (gz or not) or an .npz")
            arrays[key] = read_idx(found)
    else:
        raise InputError(f"'{p}' is neither a folder of IDX files nor an .npz file",
                         field="--data", expected="a folder with train-images-idx3-ubyte[.gz] "
                         "etc., or an .npz with x_train, y_train, x_test, y_test")
    x_train, x_test = (arrays[k].reshape(len(arrays[k]), -1).astype(np.float64)
                       for k in ("x_train", "x_test"))
    scale = 255.0 if max(x_train.max(), 1.0) > 1.0 else 1.0
    return Dataset(name, "classification", x_train / scale,
                   arrays["y_train"].astype(np.int64).reshape(-1), x_test / scale,
                   arrays["y_test"].astype(np.int64).reshape(-1))


def _default_location(name: str) -> Path | None:
    roots = [os.environ["CIMCOST_DATA"]] if os.environ.get("CIMCOST_DATA") else []
    for root in (*roots, *SEARCH_DIRS):
        folder = Path(root) / name
        if folder.is_dir() and _find_idx(folder, _IDX_NAMES["x_train"]) is not None:
            return folder
        npz = Path(root) / f"{name}.npz"
        if npz.is_file():
            return npz
    return None


def load_dataset(name: str, path: str | None = None, seed: int = 0) -> Dataset:
    """A data set by name (see ``DATASETS``), or MNIST-format files at ``name`` itself."""
    if name == "digits":
        return digits(seed)
    if name == "synthetic-regression":
        return synthetic_regression(seed=seed)
    if name == "synthetic-classification":
        return synthetic_classification(seed=seed)
    if name in ("mnist", "fashion-mnist"):
        where = Path(path) if path else _default_location(name)
        if where is None:
            places = ", ".join(f"{r}/{name}" for r in (*(["$CIMCOST_DATA"]), *SEARCH_DIRS))
            raise InputError(f"no {name} files found (looked in {places}); cimcost never downloads "
                             "data", field="--data",
                             expected=f"--data PATH to a folder of {name} IDX files or an .npz")
        return load_mnist_like(where, name)
    if Path(name).exists():
        return load_mnist_like(name, Path(name).stem)
    raise InputError(f"unknown dataset '{name}'", field="--dataset",
                     expected="one of " + ", ".join(DATASETS) + ", or a path to MNIST-format files")
