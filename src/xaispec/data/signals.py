"""The audio a store row was computed from, read again from the corpus folder.

A store keeps the models' inputs (spectrograms, mel features), not the audio. The figures
and audible explanations of a sample need the audio: for AlexNet the embedded 1-s, 8-kHz
clip (:func:`embedded_signal`), for the emotion models the 2.5-s, 22,050-Hz excerpt
(:func:`excerpt_signal`), both re-created from the source recording exactly as preparation
made them. :class:`Signals` reads them for the rows of a sample table when first needed.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError

#: the mel2d image's axes for the plotting functions: row = mel band index, column j
#: centred at j * 512 / 22050 s (librosa's centred frames); ``sr`` is the excerpt's rate
MEL_GEOMETRY = {"sr": 22050, "hop": 512, "nperseg": 22050, "first_frame": 0}


def find_corpus_root(store, corpus_root: str | os.PathLike | None = None) -> Path:
    """The folder the store's ``path`` column is relative to.

    Parameters
    ----------
    store : Store
    corpus_root : path-like, optional
        Returned when given; else ``data/raw/<corpus>`` of the store's corpus (the folder
        ``xaispec data prepare`` reads by default) when it exists, else the folder the store
        records it was prepared from (``source_root_resolved``).

    Returns
    -------
    Path

    Raises
    ------
    DataError
        The store does not name its corpus and no ``corpus_root`` is given.
    """
    if corpus_root is not None:
        return Path(corpus_root)
    from ..config import Paths

    name = store.attrs.get("corpus") or store.attrs.get("config", {}).get("corpus")
    recorded = store.attrs.get("source_root_resolved")
    if not name and not recorded:
        raise DataError(f"{store.path}: the store does not name its corpus; give corpus_root (--corpus-root)")
    default = Paths.default().corpus(str(name)) if name else None
    if default is not None and default.is_dir():
        return default
    return Path(recorded) if recorded and Path(recorded).is_dir() else (default or Path(recorded))


def _source(row, root: Path) -> Path:
    path = Path(root) / str(row["path"])
    if not path.is_file():
        raise DataError(f"{path}: source recording not found (give the corpus folder the store was "
                        f"prepared from with corpus_root / --corpus-root)")
    return path


def embedded_signal(store_row, corpus_root: str | os.PathLike, mode: str = "exact") -> np.ndarray:
    """Re-create the embedded 1-s, 8-kHz clip of an AlexNet store row, exactly as preparation did.

    Read the source file, resample it to 8 kHz (``mode`` as the store's), keep the loudest
    second of a longer clip and embed it in 8,000 zeros at the stored ``offset``.

    Parameters
    ----------
    store_row : mapping (pd.Series or dict)
        A row of the AlexNet store's index: ``path`` (relative to ``corpus_root``),
        ``offset``, and optionally ``source_sha256`` (checked) and ``cropped``.
    corpus_root : path-like
    mode : {"exact", "fast"}
        The store's resampling mode (``store.attrs["config"]["mode"]``).

    Returns
    -------
    np.ndarray, shape (8000,), float64
        In 16-bit integer units, as the spectrogram was computed from.

    Raises
    ------
    DataError
        The source file is missing, unreadable or changed since preparation.
    """
    from ..audio import features as F
    from ..audio.reading import read_audio

    path = _source(store_row, Path(corpus_root))
    audio = read_audio(path)
    sha = store_row.get("source_sha256") if hasattr(store_row, "get") else None
    if sha and isinstance(sha, str) and sha != audio.sha256:
        raise DataError(f"{path}: the file changed since the store was prepared (sha256 differs)")
    return F.embedded_second(audio.samples, sr=audio.sr, offset=int(store_row["offset"]), mode=mode,
                             name=str(path))


def excerpt_signal(store_row, corpus_root: str | os.PathLike) -> np.ndarray:
    """The 2.5-s, 22,050-Hz excerpt a mel store row was computed from, zero-padded to 2.5 s.

    Parameters
    ----------
    store_row : mapping (pd.Series or dict)
        A row of a mel store's index (``path`` relative to ``corpus_root``).
    corpus_root : path-like

    Returns
    -------
    np.ndarray, shape (55125,), float32

    Raises
    ------
    DataError
        The source file is missing.
    """
    import librosa

    from ..audio import features as F

    path = _source(store_row, Path(corpus_root))
    y, _ = librosa.load(path, sr=F.MEL_SR, offset=F.MEL_OFFSET, duration=F.MEL_DURATION, res_type=F.MEL_RES_TYPE)
    return F.mel_excerpt(y).astype(np.float32)


class Signals:
    """The audio of the rows of a sample table, read when first asked for and then kept.

    Parameters
    ----------
    store : Store
        The store the samples' inputs are in (its corpus and resampling mode are used).
    samples : pd.DataFrame
        Rows of the store's index with a ``sample_id`` column.
    representation : str
        ``"alexnet"``: :func:`embedded_signal`; otherwise :func:`excerpt_signal`.
    corpus_root : path-like, optional
        See :func:`find_corpus_root`; resolved when the first recording is read.

    Notes
    -----
    A noise-augmented copy (``#`` in its sample id) has no recording of its own: its
    signal is None, as is one :meth:`forget` was called for.
    """

    def __init__(self, store, samples, representation: str, corpus_root: str | os.PathLike | None = None):
        self.store = store
        self.samples = samples
        self.representation = representation
        self.corpus_root = corpus_root
        self.mode = store.attrs.get("config", {}).get("mode", "exact")
        self._root: Path | None = None
        self._signals: dict[int, np.ndarray | None] = {}

    def __call__(self, i: int) -> np.ndarray | None:
        """The signal of row ``i`` (positional) of the sample table, or None.

        Raises
        ------
        DataError
            The recording cannot be found or read (see :func:`embedded_signal`).
        """
        if i not in self._signals:
            row = self.samples.iloc[i]
            if "#" in str(row["sample_id"]):
                self._signals[i] = None
            else:
                self._root = self._root or find_corpus_root(self.store, self.corpus_root)
                embedded = self.representation in ("alexnet", "audionet")
                self._signals[i] = (embedded_signal(row, self._root, self.mode) if embedded
                                    else excerpt_signal(row, self._root))
        return self._signals[i]

    def forget(self, i: int) -> None:
        """Give None for row ``i`` from now on (its recording failed once: do not read it again)."""
        self._signals[i] = None
