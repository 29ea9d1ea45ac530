"""One HDF5 store per (corpus, representation): arrays, their index table and provenance.

Layout::

    /x                 (n, ...) float32   the representation, one row per sample (contiguous)
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
#: HDF5 format versions: readable by HDF5 1.8 and later, the same bytes every time
LIBVER = ("earliest", "v110")


def store_name(representation: str, mode: str = "exact") -> str:
    """The file name of a store: ``alexnet.h5`` for the seed-exact mode, ``alexnet_fast.h5``
    for the fast one (the AudioNet waveforms alike; the mel representations have one mode)."""
    return f"{representation}.h5" if mode == "exact" else f"{representation}_{mode}.h5"


def _str_dtype():
    global STR
    if STR is None:
        import h5py

        STR = h5py.string_dtype("utf-8")
    return STR


def create_preallocated(path: str | os.PathLike, arrays: dict) -> dict:
    """Create a store's arrays, allocated but not yet written; :func:`finish_store` completes it.

    Each array is one contiguous block of the file (allocated at creation, no fill
    values written), so workers can write rows straight into it at known byte offsets.

    Parameters
    ----------
    path : path-like
    arrays : dict
        name -> (shape, dtype string), e.g. ``{"x": ((n, 227, 227), "<f4")}``.

    Returns
    -------
    dict
        name -> [byte offset, shape, dtype] of each array's block.
    """
    import h5py

    layout = {}
    with h5py.File(path, "w", libver=LIBVER, track_order=False) as h5:
        for name, (shape, dtype) in arrays.items():
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)   # the block exists from the start
            dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)     # ... without writing it twice
            dcpl.set_obj_track_times(False)                  # no timestamps: same bytes each run
            space = h5py.h5s.create_simple(tuple(shape))
            dsid = h5py.h5d.create(h5.id, name.encode(), h5py.h5t.py_create(np.dtype(dtype)), space, dcpl=dcpl)
            layout[name] = [int(dsid.get_offset()), list(shape), dtype]
    return layout


def finish_store(path: str | os.PathLike, index: pd.DataFrame, attrs: dict) -> None:
    """Add the index table and the attributes to a store made by :func:`create_preallocated`.

    Parameters
    ----------
    path : path-like
    index : pd.DataFrame
        The index table, one row per array row.
    attrs : dict
        File attributes (strings).
    """
    import h5py

    with h5py.File(path, "r+", libver=LIBVER, track_order=False) as h5:
        write_index(h5, index)
        for key, value in attrs.items():
            h5.attrs[key] = value


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
            # sorted rows in runs of consecutive rows: one direct read per run, no extra copy
            breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
            pos = 0
            for run in np.split(uniq, breaks):
                if len(run):
                    ds.read_direct(out, np.s_[run[0]:run[-1] + 1], np.s_[pos:pos + len(run)])
                    pos += len(run)
            if len(uniq) == len(rows) and np.array_equal(uniq, rows):
                return out
            return out[inverse]
