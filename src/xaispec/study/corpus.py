"""What the data chapter shows of a corpus's run: its prepared stores, example recordings
with the model inputs made of them, and the mean features per label."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.corpora import example_recordings, main_label
from ..data.prepare import PREPROCESSING
from ..data.store import Store
from ..models.runs import Run

#: the representations the data chapter shows, in its order
SHOWN = ("alexnet", "audionet", "mel2d", "mel128")


def open_stores(run: Run, representations=SHOWN) -> dict[str, Store]:
    """The run's prepared stores that exist: representation -> :class:`~xaispec.data.store.Store`,
    in the order of ``representations``."""
    paths = {rep: run.store(rep) for rep in representations}
    return {rep: Store(path) for rep, path in paths.items() if path.is_file()}


def preprocessing_markdown(stores: dict[str, Store], root: str | os.PathLike) -> str:
    """Each store, its file (relative to ``root``) and size, and the numbered steps that made
    it (:data:`~xaispec.data.prepare.PREPROCESSING`), as Markdown; a line saying there is no
    store yet when ``stores`` is empty."""
    text = []
    for rep, store in stores.items():
        steps = "\n".join(f"{i + 1}. {step}" for i, step in enumerate(PREPROCESSING.get(rep, ())))
        text.append(f"**{rep}** (`{store.path.relative_to(root)}`, {len(store)} samples):\n\n{steps}")
    return "\n\n".join(text) or "No prepared store yet."


@dataclass
class Example:
    """One example recording of the data chapter.

    Attributes
    ----------
    row : pandas.Series
        Its row of the corpus index.
    label : str
        The index's main label column (``digit``, ``emotion``).
    audio : xaispec.audio.reading.Audio
    inputs : dict
        Representation -> the model input of the recording, for the stores that hold it.
    """

    row: pd.Series
    label: str
    audio: object
    inputs: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """``digit 3, speaker 07 (female), take 0``."""
        r = self.row
        return f"{self.label} {r[self.label]}, speaker {r['speaker']} ({r['sex']}), take {r['repetition']}"

    @property
    def signal(self):
        """The samples scaled to [-1, 1) (from 16-bit units)."""
        return self.audio.samples / 32768.0

    @property
    def player_label(self) -> str:
        """The audio player's title: the file, its rate and duration."""
        return f"{self.row['path']} ({self.audio.sr} Hz, {self.audio.duration:.2f} s)"


def load_examples(index: pd.DataFrame, root: str | os.PathLike, stores: dict[str, Store], n: int,
                  representations=("alexnet", "mel2d")) -> list[Example]:
    """The data chapter's ``n`` examples (:func:`~xaispec.data.corpora.example_recordings`),
    read from the corpus at ``root`` (a folder; else the index's paths are used as they are),
    with their inputs from those of ``representations`` in ``stores``."""
    from ..audio.reading import read_audio

    root = Path(root)
    label = main_label(index.columns)
    examples = []
    for _, row in example_recordings(index, n).iterrows():
        audio = read_audio(root / row["path"] if root.is_dir() else row["path"])
        inputs = {rep: stores[rep].load(stores[rep].rows([row["sample_id"]]))[0]
                  for rep in representations if rep in stores}
        examples.append(Example(row, label, audio, inputs))
    return examples


def example_figures(example: Example, k: int) -> list[tuple]:
    """The figures of example ``k``: its waveform, AlexNet input and 40-band log-mel image
    (those it has), as ``(figure, caption, name)`` for :meth:`xaispec.book.Page.gallery`."""
    from ..figures import spectrogram, waveform

    what = example.description
    items = [(waveform(example.signal, example.audio.sr, title="waveform"), f"Waveform of {what}.", f"wave-{k}")]
    if "alexnet" in example.inputs:
        items.append((spectrogram(example.inputs["alexnet"], title="AlexNet input (dB)"),
                      f"The AlexNet input of {what}: 227 x 227 dB cells, 0-4 kHz over one second.", f"spec-{k}"))
    if "mel2d" in example.inputs:
        m = example.inputs["mel2d"]
        items.append((spectrogram(m, extent=(0.6, 3.1, 0, m.shape[0]), title="log-mel (40 bands)"),
                      f"The 40-band log-mel image of {what} (2.5 s from 0.6 s).", f"mel-{k}"))
    return items


def band_means(store: Store) -> pd.DataFrame:
    """Mean power of each band per value of the store's main label, on a log scale.

    Returns
    -------
    pandas.DataFrame
        One row per label value (sorted), one column per band: ``log10(mean + 1e-10)`` of
        the store's rows with that value.
    """
    x = store.load()
    groups = store.index.reset_index(drop=True).groupby(main_label(store.index.columns)).indices
    return pd.DataFrame({value: np.log10(x[groups[value]].mean(axis=0) + 1e-10) for value in sorted(groups)}).T
