"""One HDF5 store per (corpus, representation): arrays, their index table and provenance.

Layout::

    /x                 (n, ...) float32   the representation, one row per sample
    /x_augmented       (n, ...) float32   (mel128 only) the seeded noise-augmented copy
    /index/<column>    (n,)               the index table, one dataset per column
    attrs              representation, corpus, config (JSON), provenance (JSON), config_hash

Stores are written with no timestamps, so the same inputs give the same bytes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

STR = None  # h5py string dtype, created lazily


def _str_dtype():
    global STR
    if STR is None:
        import h5py

        STR = h5py.string_dtype("utf-8")
    return STR


def open_for_writing(path: str | os.PathLike):
    """An ``h5py.File`` for writing a new store at ``path`` (a temporary name)."""
    import h5py

    return h5py.File(path, "w", libver=("earliest", "v110"), track_order=False)


def create_array(h5, name: str, shape: tuple, dtype=np.float32):
    """An uncompressed dataset chunked per sample (fast row reads), without timestamps."""
    chunks = (1, *shape[1:]) if len(shape) > 1 and shape[0] > 0 else None
    return h5.create_dataset(name, shape=shape, dtype=dtype, chunks=chunks, track_times=False)


def write_index(h5, table: pd.DataFrame) -> None:
    """Store ``table`` column by column under ``/index`` (order kept in an attribute)."""
    group = h5.create_group("index", track_order=False)
    group.attrs["columns"] = json.dumps(list(table.columns))
    for col in table.columns:
        values = table[col]
        if pd.api.types.is_bool_dtype(values):
            data, kind = values.to_numpy(dtype=np.int8), "bool"
        elif pd.api.types.is_integer_dtype(values):
            data, kind = values.to_numpy(dtype=np.int64), "int"
        elif pd.api.types.is_float_dtype(values):
            data, kind = values.to_numpy(dtype=np.float64), "float"
        else:
            data, kind = np.array([str(v) for v in values], dtype=object), "str"
        dtype = _str_dtype() if kind == "str" else data.dtype
        ds = group.create_dataset(col, data=data, dtype=dtype, track_times=False)
        ds.attrs["kind"] = kind


def read_index(h5) -> pd.DataFrame:
    """The index table stored under ``/index``."""
    group = h5["index"]
    columns = json.loads(group.attrs["columns"])
    data = {}
    for col in columns:
        ds = group[col]
        kind = ds.attrs["kind"]
        if kind == "str":
            data[col] = [v.decode("utf-8") if isinstance(v, bytes) else v for v in ds[()]]
        elif kind == "bool":
            data[col] = ds[()].astype(bool)
        else:
            data[col] = ds[()]
    return pd.DataFrame(data, columns=columns)


class Store:
    """Read access to a prepared store.

    Parameters
    ----------
    path : path-like
        A ``.h5`` file written by :func:`xaispec.data.prepare.prepare`.

    Attributes
    ----------
    index : pd.DataFrame
        One row per sample, in the order of the arrays.
    attrs : dict
        ``representation``, ``corpus``, ``config`` and ``provenance`` (decoded JSON).
    """

    def __init__(self, path: str | os.PathLike):
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: store not found (create it with 'xaispec data prepare')")
        try:
            with h5py.File(self.path, "r") as h5:
                self.index = read_index(h5)
                self.attrs = {k: (json.loads(v) if k in ("config", "provenance") else v)
                              for k, v in h5.attrs.items()}
                self.shape = h5["x"].shape
                self.arrays = sorted(k for k in h5.keys() if k != "index")
        except (OSError, KeyError) as exc:
            raise DataError(f"{self.path}: not a readable xaispec store ({exc})") from None

    def __len__(self) -> int:
        return len(self.index)

    def rows(self, sample_ids) -> np.ndarray:
        """Row numbers of ``sample_ids`` (in the order given).

        Raises
        ------
        DataError
            If an id is not in the store (the first few are named).
        """
        lookup = pd.Series(np.arange(len(self.index)), index=self.index["sample_id"])
        ids = list(sample_ids)
        missing = [i for i in ids if i not in lookup.index]
        if missing:
            raise DataError(f"{self.path}: {len(missing)} sample id(s) not in the store, "
                            f"e.g. {missing[:3]}")
        return lookup.loc[ids].to_numpy()

    def load(self, rows=None, *, name: str = "x") -> np.ndarray:
        """Arrays of ``rows`` (all when None), shape (len(rows), ...), in the order given.

        Reads whole row ranges at once: sorted rows are fetched in contiguous runs.
        """
        import h5py

        with h5py.File(self.path, "r") as h5:
            ds = h5[name]
            if rows is None:
                return ds[()]
            rows = np.asarray(rows, dtype=np.int64)
            uniq, inverse = np.unique(rows, return_inverse=True)
            out = np.empty((len(uniq), *ds.shape[1:]), dtype=ds.dtype)
            # split the sorted rows into runs of consecutive rows, each read as one slice
            breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
            pos = 0
            for run in np.split(uniq, breaks):
                if len(run):
                    out[pos:pos + len(run)] = ds[run[0]:run[-1] + 1]
                    pos += len(run)
            return out[inverse]
