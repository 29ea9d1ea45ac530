"""Explaining trained models: choose the samples, run the methods, write figures, sounds and results.

The AudioMNIST study chose what to explain in three ways, all available here (and through
``xaispec explain``):

1. several models, each with mode ``examples`` (``n`` samples per digit and sex of its test
   fold), ``all`` (the whole test fold) or ``single`` (one sample): :func:`select_examples`;
2. one given sample of one model (label, fold, digit, participant, repetition, or a
   sample id): :func:`select_sample`;
3. the samples of one model that it predicted ``wrong`` or ``correct``, optionally only the
   first N: :func:`select_predictions`.

:func:`explain` then runs the explanation methods of :mod:`xaispec.explain` on the chosen
samples of one model and writes, under the run folder:

- per sample, its waveform (and the clip as WAV) and spectrogram image:
  ``plots/{waveform,spectrograms}/{participant}/{sex}_{digit}_{participant}_{rep}.png``;
- per sample and method, the study's overlay (Grad-CAM: "jet" at alpha 0.4; LIME: region
  boundaries; other methods: their positive evidence drawn the Grad-CAM way) at the study's
  name ``plots/xai/{method}/label_{label}_split_{fold}/{participant}/{stem}_predicted_{p}.png``,
  the better panel beside it (``..._panel.png``: waveform above, time in s, frequency in
  Hz, colour bars, diverging colours for signed maps) and the audible explanation
  (``.wav``: the top ``top_percent`` % cells with their original phase);
- per method, ``explanations/{method}_{short}.csv`` (one row per sample: id, target,
  prediction, runtime, file names), ``.npz`` (the maps, :meth:`Explanation.save`) and
  ``.json`` (parameters, selection, failures, provenance);
- for the emotion 1D CNN (128 mel features, no time axis), SHAP summary (beeswarm) and bar
  plots per class and for the mean over classes, in ``plots/xai/{method}/{model name}/``,
  summarising every row in the method's result file.

The 2D emotion CNN (mel images) uses the same layout under ``label_emotion_cnn2d_split_{fold}``
(frequency axis: mel band index; time in s at 22,050 Hz, hop 512). Emotion samples have no
digit: their stem is ``{sex}_{emotion}_{actor}_{intensity}-{statement}-{repetition}``, the
waveform is the 2.5-s excerpt the features came from (``..._excerpt.png``/``.wav``) and the
spectrogram the mel image (``..._mel2d.png``).

Finished outputs are reused unless ``force``; every call logs to the run's ``events.log``.
A method that fails on a sample is reported in :attr:`ExplainResult.failures` and the other
samples and methods continue.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import sha256_file, write_json_atomic, write_text_atomic
from ..errors import DataError, ParameterError, XaispecError
from ..events import EventLog
from ..models.runs import Run, Task

#: the methods each model is explained with when none are given
DEFAULT_METHODS = {
    "alexnet": ("gradcam", "gradcam++", "lime", "shap_gradient", "integrated_gradients", "smoothgrad",
                "occlusion", "shap_partition"),
    "cnn2d": ("gradcam", "lime"),
    "cnn1d": ("shap_permutation", "shap_kernel", "shap_gradient"),
}
#: per model, parameters that differ from a method's own defaults: the studies' settings
#: (LIME: 100 samples, 10 features, quickshift) and modest sample counts for a CPU
DEFAULT_PARAMS = {
    "alexnet": {
        "lime": {"segmentation": "quickshift", "num_samples": 100, "num_features": 10},
        "shap_gradient": {"nsamples": 32, "n_background": 16},
        "occlusion": {"patch": 32, "stride": 16},
        "shap_partition": {"max_evals": 200},
    },
    "cnn2d": {
        "lime": {"segmentation": "grid", "n_freq_bands": 8, "n_time_bands": 12, "num_samples": 100,
                 "num_features": 10},
        "shap_gradient": {"nsamples": 32, "n_background": 16},
        "shap_partition": {"max_evals": 200},
    },
    "cnn1d": {
        "shap_permutation": {"n_background": 16, "max_evals": 500},
        "shap_kernel": {"n_background": 100, "k": 10, "nsamples": 128},
        "shap_gradient": {"n_background": 50, "nsamples": 200},
        "shap_deep": {"n_background": 50},
    },
}
MODES = ("examples", "all", "single")
WHICH = ("wrong", "correct")
#: methods explained in batches of samples (one compiled graph per batch); the others go
#: one sample at a time (they loop over samples internally anyway)
BATCHED = {"gradcam", "gradcam++", "saliency", "smoothgrad", "integrated_gradients", "shap_gradient", "shap_deep"}
BATCH = 16
#: ``extra`` entries of an Explanation that describe the whole batch, not one sample each
GLOBAL_EXTRA = {"expected_value", "n_patches"}
#: training rows drawn as the SHAP background pool (each method takes its ``n_background``)
BACKGROUND_POOL = 200
#: the mel2d image's axes for the plotting functions: row = mel band index, column j
#: centred at j * 512 / 22050 s (librosa's centred frames)
MEL_GEOMETRY = {"sr": 22050, "hop": 512, "nperseg": 22050, "first_frame": 0}
MEL_N_FFT = 2048


# ---------------------------------------------------------------- audio of a sample

def find_corpus_root(store, corpus_root: str | os.PathLike | None = None) -> Path:
    """The folder the store's ``path`` column is relative to.

    ``corpus_root`` when given, else ``data/raw/<corpus>`` of the store's corpus (the
    folder ``xaispec data prepare`` reads by default; corpora prepared with ``--source``
    need ``corpus_root``).
    """
    if corpus_root is not None:
        return Path(corpus_root)
    from ..config import Paths

    name = store.attrs.get("corpus") or store.attrs.get("config", {}).get("corpus")
    if not name:
        raise DataError(f"{store.path}: the store does not name its corpus; give corpus_root (--corpus-root)")
    return Paths.default().corpus(str(name))


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

    Returns
    -------
    np.ndarray, shape (55125,), float32
    """
    import librosa

    from ..audio import features as F

    path = _source(store_row, Path(corpus_root))
    y, _ = librosa.load(path, sr=F.MEL_SR, offset=F.MEL_OFFSET, duration=F.MEL_DURATION)
    return F.mel_excerpt(y).astype(np.float32)


def audible_mel(y: np.ndarray, attribution: np.ndarray, *, top_percent: float = 20.0, absolute: bool = False,
                sr: int = 22050, peak: float = 0.9) -> np.ndarray:
    """Audible explanation of a log-mel image: keep the STFT cells of the top mel cells.

    The mel image is ``melspectrogram(y, n_fft=2048, hop_length=512, center=True)``: its
    column ``j`` is STFT frame ``j``, and each STFT bin belongs to the mel band whose filter
    weighs it most. The STFT cells under the top ``top_percent`` % mel cells keep their
    magnitude and phase, the rest are zeroed, and the inverse STFT gives the audio.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        The excerpt (see :func:`excerpt_signal`).
    attribution : np.ndarray, shape (n_mels, frames)

    Returns
    -------
    np.ndarray, shape (n,), float32
    """
    import librosa

    from ..audio.resynthesis import normalise

    a = np.asarray(attribution, dtype=np.float64)
    if a.ndim != 2:
        raise ParameterError(f"attribution must be (mel bands, frames), got shape {a.shape}")
    if not 0 < top_percent <= 100:
        raise ParameterError(f"top_percent={top_percent!r} must be in (0, 100]")
    z = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=MEL_N_FFT, hop_length=512, center=True,
                     pad_mode="constant")
    if z.shape[1] != a.shape[1]:
        raise ParameterError(f"attribution has {a.shape[1]} frames, the excerpt {z.shape[1]}")
    score = np.nan_to_num(np.abs(a) if absolute else a, nan=-np.inf).ravel()
    k = int(np.ceil(top_percent / 100.0 * score.size))
    keep = np.zeros(score.size, dtype=bool)
    keep[np.argsort(-score, kind="stable")[:k]] = True
    keep = keep.reshape(a.shape)
    fb = librosa.filters.mel(sr=sr, n_fft=MEL_N_FFT, n_mels=a.shape[0])
    band = fb.argmax(axis=0)
    covered = fb.max(axis=0) > 0
    mask = keep[band] & covered[:, None]
    out = librosa.istft(np.where(mask, z, 0), hop_length=512, n_fft=MEL_N_FFT, center=True, length=len(y))
    return normalise(out, peak)


# ---------------------------------------------------------------- the test fold and selections

def _store(run: Run, task: Task):
    from ..data.store import Store

    return Store(run.store(task.representation))


def load_model(run: Run, task: Task):
    """The trained Keras model of ``task`` (DataError naming the train command when missing)."""
    import keras

    path = run.model_path(task)
    if not path.is_file():
        model = f" --model {task.model}" if task.model != "alexnet" else ""
        raise DataError(f"{path}: model not found (train it with 'xaispec train {run.processed.name} "
                        f"--label {task.label} --fold {task.fold}{model}')")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise DataError(f"{path}: not a readable Keras model ({str(exc).splitlines()[0][:200]})") from None


_load_model = load_model  # the earlier private name


def model_copy(model, policy: str):
    """A copy of ``model`` with the same weights whose layers compute in ``policy``
    (``"float32"`` or ``"mixed_bfloat16"``); the output layer stays float32, as Keras' mixed
    precision keeps it."""
    import keras

    def clone(layer):
        cfg = layer.get_config()
        cfg["dtype"] = "float32" if layer is model.layers[-1] else policy
        return layer.__class__.from_config(cfg)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def float32_model(model):
    """A float32 copy of a (mixed-precision) Keras model with the same weights; a model
    whose layers all compute in float32 already is returned as it is."""
    if model_precision(model) == "float32":
        return model
    return model_copy(model, "float32")


def model_precision(model) -> str:
    """``"float32"`` when every layer computes in float32, else the first other policy's name
    (e.g. ``"mixed_bfloat16"``): the precision explanations of ``model`` are computed in."""
    for layer in model.layers:
        policy = getattr(layer, "dtype_policy", None)
        if getattr(layer, "compute_dtype", "float32") != "float32":
            return getattr(policy, "name", str(layer.compute_dtype))
    return "float32"


def _class_column(task: Task, index: pd.DataFrame) -> str:
    """The column samples are grouped by in ``examples`` mode and named by: digit, else the label's."""
    if "digit" in index.columns:
        return "digit"
    return {"gender": "sex", "emotion": "emotion"}.get(task.label, task.label)


def test_table(run: Run, task: Task, *, model=None, batch_size: int = 64) -> pd.DataFrame:
    """The test fold of ``task`` with the model's predictions, one row per test sample in split order.

    Columns: ``sample_id``, ``array`` and ``row`` (where the input is in the store),
    the store index's columns (``participant`` = speaker, ``sex``, ``repetition``, ``digit``
    or ``emotion``, ``path``, ``offset``, ...), ``actual``, ``predicted`` (class names),
    ``correct``, ``target`` (predicted class index: what is explained) and ``p_<class>``.

    The predictions come from the evaluation's predictions file when it is newer than the
    model, else they are computed with ``model`` (loaded when None).
    """
    from ..models.datasets import AUG, BatchReader, apply_scaling, load_parts, load_scaling

    store = _store(run, task)
    test = load_parts(run, task, store)["test"]
    base = [i[: -len(AUG)] if i.endswith(AUG) else i for i in test.ids]
    info = store.index.set_index("sample_id").loc[base].reset_index(drop=True)
    info = info.rename(columns={"speaker": "participant"})
    table = pd.concat([pd.DataFrame({"sample_id": test.ids, "base_id": base, "array": test.refs[:, 0],
                                     "row": test.refs[:, 1]}), info], axis=1)
    names = task.classes
    pred_path = run.predictions_path(task)
    model_path = run.model_path(task)
    proba = None
    if pred_path.is_file() and (not model_path.is_file() or pred_path.stat().st_mtime >= model_path.stat().st_mtime):
        pred = pd.read_csv(pred_path, dtype={"participant": str, "actual": str, "predicted": str})
        if list(pred["sample_id"]) == list(test.ids):
            cols = [f"p_{c}" for c in names]
            if all(c in pred.columns for c in cols):
                proba = pred[cols].to_numpy(dtype=np.float64)
    if proba is None:
        model = model if model is not None else _load_model(run, task)
        scaling = load_scaling(run, task)
        reader = BatchReader(store.path)
        try:
            from ..explain import _model as M

            out = []
            for i in range(0, len(test), batch_size):
                x = apply_scaling(reader.read(test.refs[i:i + batch_size]), scaling)
                out.append(M.predict(model, x, batch_size=batch_size))
            proba = np.concatenate(out).astype(np.float64)
        finally:
            reader.close()
    y_pred = proba.argmax(axis=1)
    table["actual"] = [names[i] for i in test.y]
    table["predicted"] = [names[i] for i in y_pred]
    table["correct"] = test.y == y_pred
    table["actual_index"] = test.y.astype(np.int64)
    table["target"] = y_pred.astype(np.int64)
    for k, name in enumerate(names):
        table[f"p_{name}"] = proba[:, k]
    return table


def _participants_hint(run: Run, task: Task) -> str:
    cmd = f"xaispec info participants {run.processed.name} --label {task.label} --fold {task.fold}"
    if task.model != "alexnet":
        cmd += f" --model {task.model}"
    return f"list the valid ones with '{cmd}'"


def select_examples(table: pd.DataFrame, task: Task, *, mode: str = "examples", n: int = 1,
                    seed: int = 0) -> pd.DataFrame:
    """Samples of a test table (see :func:`test_table`) by the study's modes.

    Parameters
    ----------
    mode : {"examples", "all", "single"}
        ``examples``: ``n`` samples per digit (emotion for emotion corpora) and sex, drawn
        with ``seed``; ``all``: the whole test fold; ``single``: its first sample.
    n : int
        1 to 5, as the study.
    """
    if mode not in MODES:
        raise ParameterError(f"mode={mode!r} is not one of {list(MODES)}")
    if mode == "all":
        return table.reset_index(drop=True)
    if mode == "single":
        return table.head(1).reset_index(drop=True)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 5:
        raise ParameterError(f"n={n!r} must be an integer from 1 to 5 (samples per class and sex)")
    column = _class_column(task, table)
    originals = table[~table["sample_id"].str.contains("#", regex=False)]
    rng = np.random.default_rng(seed)
    chosen = []
    for _, group in originals.groupby([column, "sex"], sort=True):
        take = rng.choice(len(group), size=min(n, len(group)), replace=False)
        chosen.extend(group.index[np.sort(take)])
    return table.loc[sorted(chosen)].reset_index(drop=True)


def _norm_participant(p, available) -> str:
    text = str(p)
    if text not in set(available) and text.isdigit():
        for width in (2, 1):
            cand = f"{int(text):0{width}d}"
            if cand in set(available):
                return cand
    return text


def select_sample(table: pd.DataFrame, run: Run, task: Task, *, sample_id: str | None = None, digit=None,
                  participant=None, repetition=None) -> pd.DataFrame:
    """One given sample of a model's test fold, by ``sample_id`` or by digit, participant and repetition.

    Raises
    ------
    ParameterError
        The sample is not in the model's test fold (the message says how to list the
        participants that are), or the description is incomplete.
    """
    if sample_id is not None:
        hit = table[(table["sample_id"] == str(sample_id))]
        what = f"sample {sample_id!r}"
    else:
        if participant is None or repetition is None or (digit is None and "digit" in table.columns):
            raise ParameterError("give a sample id, or digit, participant and repetition")
        if "digit" not in table.columns:
            raise ParameterError(f"the {task.name} samples have no digit: give the sample id")
        p = _norm_participant(participant, table["participant"])
        hit = table[(table["participant"] == p) & (table["digit"].astype(str) == str(digit))
                    & (table["repetition"].astype(str) == str(repetition))]
        what = f"digit {digit}, participant {p}, repetition {repetition}"
    if hit.empty:
        present = sorted(table["participant"].unique())
        raise ParameterError(f"{what} is not in the test fold of {task.name} (its participants: "
                             f"{', '.join(present[:20])}{' ...' if len(present) > 20 else ''}); "
                             f"{_participants_hint(run, task)}")
    return hit.head(1).reset_index(drop=True)


def select_predictions(table: pd.DataFrame, *, which: str = "wrong", first: int | None = None) -> pd.DataFrame:
    """The ``wrong`` or ``correct`` predictions of a test table, optionally only the first N."""
    if which not in WHICH:
        raise ParameterError(f"which={which!r} is not one of {list(WHICH)}")
    out = table[table["correct"] == (which == "correct")]
    if first is not None:
        if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or first < 1:
            raise ParameterError(f"first={first!r} must be an integer >= 1")
        out = out.head(int(first))
    return out.reset_index(drop=True)


# ---------------------------------------------------------------- results

@dataclass
class Failure:
    """One method failing on one sample."""

    task: str
    method: str
    sample_id: str
    error: str

    def line(self) -> str:
        return f"{self.task} {self.method} {self.sample_id}: {self.error}"


@dataclass
class MethodResult:
    """What :func:`explain` did for one method."""

    method: str
    csv: Path
    npz: Path
    json: Path
    explained: int = 0
    reused: int = 0
    failures: list[Failure] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    #: rows the method ran through the model: ``forward`` evaluated, ``backward`` differentiated
    work: dict = field(default_factory=dict)


@dataclass
class ExplainResult:
    """What :func:`explain` did for one model: per-method results, sample figures, failures."""

    task: Task
    samples: pd.DataFrame
    methods: dict[str, MethodResult] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


def result_paths(run: Run, task: Task, method: str) -> tuple[Path, Path, Path]:
    """``explanations/{method}_{short}.csv``, ``.npz`` and ``.json`` of a model and method."""
    stem = run.dir / "explanations" / f"{method}_{task.short}"
    return stem.with_suffix(".csv"), stem.with_suffix(".npz"), stem.with_suffix(".json")


def _stem_fields(row, task: Task) -> dict:
    """The study's file-name parts of a sample: participant, sex, digit, rep.

    Emotion samples have no digit: their emotion takes its place and the repetition
    becomes ``{intensity}-{statement}-{repetition}`` (unique per actor and emotion).
    """
    if "digit" in row and pd.notna(row.get("digit")):
        digit, rep = row["digit"], row["repetition"]
    else:
        digit = row.get("emotion", row.get("actual"))
        rep = "-".join(str(row[c]) for c in ("intensity", "statement", "repetition") if c in row)
    if "#" in str(row["sample_id"]):
        rep = f"{rep}-{str(row['sample_id']).split('#', 1)[1]}"
    return {"participant": str(row["participant"]), "sex": str(row["sex"]), "digit": digit, "rep": rep}


def _figure_label(task: Task) -> str:
    return task.label if task.model == "alexnet" else f"{task.label}_{task.model}"


def sample_paths(run: Run, task: Task, row) -> dict[str, Path]:
    """The waveform and spectrogram figure paths of a sample (and the waveform's WAV)."""
    from ..figures import figure_path

    f = _stem_fields(row, task)
    wave = figure_path(run.dir, "waveform", **f)
    spec = figure_path(run.dir, "spectrograms", **f)
    if task.representation != "alexnet":
        wave = wave.with_name(f"{wave.stem}_excerpt.png")
        spec = spec.with_name(f"{spec.stem}_{task.representation}.png")
    return {"waveform": wave, "waveform_wav": wave.with_suffix(".wav"), "spectrogram": spec}


def method_paths(run: Run, task: Task, method: str, row) -> dict[str, Path]:
    """The study overlay, the panel (``_panel.png``) and the WAV of a sample and method."""
    from ..figures import figure_path

    fig = figure_path(run.dir, method, _figure_label(task), task.fold, predicted=row["predicted"],
                      **_stem_fields(row, task))
    return {"figure": fig, "panel": fig.with_name(f"{fig.stem}_panel.png"), "wav": fig.with_suffix(".wav")}


def _rel(run: Run, path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return str(Path(path).relative_to(run.dir))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- explanation merging

def _concat(parts: list, ids: list[np.ndarray]):
    """One Explanation from several of the same method (runtimes added)."""
    from ..explain import Explanation

    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    extra = {}
    keys = set.intersection(*(set(p.extra) for p in parts))
    for key in keys:
        values = [p.extra[key] for p in parts]
        if key in GLOBAL_EXTRA or not all(isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == len(p)
                                          for v, p in zip(values, parts)):
            extra[key] = values[-1]
            continue
        try:
            extra[key] = np.concatenate(values)
        except ValueError:
            continue  # shapes differ between parts (e.g. top_labels of another k): dropped
    extra["sample_ids"] = np.concatenate([np.asarray(i, dtype=str) for i in ids])
    return Explanation(maps=np.concatenate([p.maps for p in parts]), method=parts[-1].method,
                       targets=np.concatenate([p.targets for p in parts]), params=parts[-1].params,
                       runtime=float(sum(p.runtime for p in parts)), extra=extra)


def _subset(expl, keep: np.ndarray):
    from ..explain import Explanation

    n = len(expl)
    extra = {k: (v[keep] if k not in GLOBAL_EXTRA and isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n
                 else v) for k, v in expl.extra.items()}
    return Explanation(maps=expl.maps[keep], method=expl.method, targets=expl.targets[keep], params=expl.params,
                       runtime=expl.runtime, extra=extra)


def _take(expl, i: int):
    """Sample ``i`` of an explanation as a one-sample Explanation."""
    return _subset(expl, np.array([i]))


# ---------------------------------------------------------------- figures

def _relabel_mel(fig) -> None:
    for ax in fig.axes:
        if ax.get_ylabel() == "frequency (Hz)":
            ax.set_ylabel("mel band")


def _sample_figures(run: Run, task: Task, row, db: np.ndarray, get_signal, *, scale: bool,
                    force: bool) -> list[Path]:
    """Waveform (+ WAV of the clip) and spectrogram image of one sample; existing ones are kept.

    ``get_signal()`` gives the sample's audio (or None); it is only called when needed.
    """
    from .. import figures as plots
    from ..audio.resynthesis import write_wav

    paths = sample_paths(run, task, row)
    written = []
    need = force or not (paths["waveform"].is_file() and paths["waveform_wav"].is_file())
    signal = get_signal() if need else None
    title = f"{row['sample_id']} ({row['sex']}, participant {row['participant']}, {row['actual']})"
    mel = task.representation != "alexnet"
    sr = MEL_GEOMETRY["sr"] if mel else 8000
    if signal is not None:
        if force or not paths["waveform"].is_file():
            plots.waveform(signal, sr, scale=scale, title=title, path=paths["waveform"])
            written.append(paths["waveform"])
        if force or not paths["waveform_wav"].is_file():
            level = signal if mel else signal / 32768.0  # 16-bit units -> [-1, 1]
            write_wav(paths["waveform_wav"], np.asarray(level, dtype=np.float32), sr)
            written.append(paths["waveform_wav"])
    if force or not paths["spectrogram"].is_file():
        if mel:
            fig = plots.spectrogram(db, title=title, **MEL_GEOMETRY)
            _relabel_mel(fig)
            plots.save_figure(fig, paths["spectrogram"])
        else:
            plots.spectrogram(db, title=title, path=paths["spectrogram"])
        written.append(paths["spectrogram"])
    return written


def _method_figures(run: Run, task: Task, method: str, row, db: np.ndarray, signal: np.ndarray | None,
                    attribution: np.ndarray, extra: dict, *, top_percent: float) -> dict[str, Path]:
    """The study overlay, the panel and the audible explanation of one sample and method."""
    from .. import figures as plots
    from ..audio.resynthesis import audible_explanation, write_wav

    paths = method_paths(run, task, method, row)
    mel = task.representation != "alexnet"
    geometry = MEL_GEOMETRY if mel else {}
    title = f"{task.name} {row['sample_id']}: {plots.METHOD_DIRS.get(method, method)}, " \
            f"actual {row['actual']}, predicted {row['predicted']}"
    a = np.asarray(attribution, dtype=np.float64)
    # the study's picture
    if method == "lime" and "mask" in extra:
        fig = plots.overlay_study_lime(db, np.asarray(extra["mask"]), title=title, **geometry)
    else:
        # Grad-CAM maps are in [0, 1]; other maps are drawn the same way with their positive evidence
        heat = np.clip(np.nan_to_num(a), 0, None)
        top = float(heat.max())
        fig = plots.overlay_study_gradcam(db, heat / top if top > 0 else heat, title=title, **geometry)
    if mel:
        _relabel_mel(fig)
    plots.save_figure(fig, paths["figure"])
    # the better panel
    if mel:
        fig = plots.explanation_panel(signal, db, a, title=title, **geometry)
        _relabel_mel(fig)
        plots.save_figure(fig, paths["panel"])
    else:
        plots.explanation_panel(signal, db, a, title=title, path=paths["panel"])
    # the audible explanation
    if signal is not None:
        audio = audible_mel(signal, a, top_percent=top_percent) if mel else \
            audible_explanation(signal, a, top_percent=top_percent)
        write_wav(paths["wav"], audio, MEL_GEOMETRY["sr"] if mel else 8000)
    else:
        paths["wav"] = None
    return paths


def feature_plots(run: Run, task: Task, method: str, expl, features: np.ndarray, *,
                  max_display: int = 20) -> list[Path]:
    """SHAP summary (beeswarm) and bar plots of a 1D-feature model, per class and for the mean.

    Written to ``plots/xai/{method}/{model name}/``: ``summary_{class}.png`` and
    ``bar_{class}.png`` for each class, ``summary_mean.png`` (mean |value| over classes,
    coloured by feature value: signed values of a softmax model sum to about zero over
    classes) and ``bar_mean.png`` (the mean |value| per class, stacked).
    Maps without per-class values give ``summary_target.png`` and ``bar_target.png``.
    """
    from .. import figures as plots

    folder = run.dir / "plots" / "xai" / plots.METHOD_DIRS.get(method, method) / task.name
    names = task.classes
    written = []
    values = expl.extra.get("values")
    label = plots.METHOD_DIRS.get(method, method)
    if isinstance(values, np.ndarray) and values.ndim == 3 and values.shape[2] == len(names):
        for c, name in enumerate(names):
            plots.shap_beeswarm(values, features, class_index=c, max_display=max_display,
                                title=f"{task.name} {label}: {name}", path=folder / f"summary_{name}.png")
            written.append(folder / f"summary_{name}.png")
            plots.shap_bar(values, class_index=c, class_names=names, title=f"{task.name} {label}: {name}",
                           path=folder / f"bar_{name}.png")
            written.append(folder / f"bar_{name}.png")
        plots.shap_beeswarm(np.abs(values).mean(axis=2), features, max_display=max_display,
                            title=f"{task.name} {label}: mean |value| over classes",
                            path=folder / "summary_mean.png")
        plots.shap_bar(values, class_names=names, title=f"{task.name} {label}: all classes",
                       path=folder / "bar_mean.png")
        written += [folder / "summary_mean.png", folder / "bar_mean.png"]
    else:
        plots.shap_beeswarm(expl.maps, features, max_display=max_display,
                            title=f"{task.name} {label}: explained class", path=folder / "summary_target.png")
        plots.shap_bar(expl.maps, title=f"{task.name} {label}: explained class", path=folder / "bar_target.png")
        written += [folder / "summary_target.png", folder / "bar_target.png"]
    return written


# ---------------------------------------------------------------- the work

def _parse_methods(methods, task: Task) -> list[str]:
    from ..explain import METHODS

    chosen = list(methods) if methods else list(DEFAULT_METHODS[task.model])
    unknown = [m for m in chosen if m not in METHODS]
    if unknown:
        raise ParameterError(f"unknown explanation method(s) {unknown}; valid methods: {', '.join(sorted(METHODS))}")
    return list(dict.fromkeys(chosen))


def method_params(task: Task, method: str, params: dict | None = None, *, seed: int = 0) -> dict:
    """The parameters :func:`explain` gives a method: the model's defaults, the seed, then ``params[method]``."""
    from ..explain import METHODS

    out = dict(DEFAULT_PARAMS.get(task.model, {}).get(method, {}))
    if "seed" in METHODS[method].defaults:
        out["seed"] = seed
    out.update((params or {}).get(method, {}))
    return out


def _background(run: Run, task: Task, store, scaling: dict, seed: int) -> np.ndarray:
    """Up to :data:`BACKGROUND_POOL` training rows, drawn with ``seed``, scaled as in training."""
    from ..models.datasets import BatchReader, apply_scaling, load_parts

    train = load_parts(run, task, store)["train"]
    take = np.sort(np.random.default_rng(seed).choice(len(train), min(BACKGROUND_POOL, len(train)), replace=False))
    reader = BatchReader(store.path)
    try:
        return apply_scaling(reader.read(train.refs[take]), scaling)
    finally:
        reader.close()


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def explain(run: Run, task: Task, samples: pd.DataFrame, *, methods=None, params: dict | None = None,
            force: bool = False, top_percent: float = 20.0, scale_waveform: bool = False,
            corpus_root: str | os.PathLike | None = None, seed: int = 0, float32: bool = True,
            figures: bool = True, progress: bool = True, model=None, selection: dict | None = None) -> ExplainResult:
    """Explain ``samples`` of one model with ``methods``; write figures, sounds and result files.

    Parameters
    ----------
    run : Run
    task : Task
    samples : pd.DataFrame
        Rows of :func:`test_table` (e.g. from :func:`select_examples`).
    methods : list of str, optional
        Names in :data:`xaispec.explain.METHODS`; default :data:`DEFAULT_METHODS` of the model.
    params : dict, optional
        ``{method: {parameter: value}}`` overriding :data:`DEFAULT_PARAMS`.
    force : bool
        Explain and draw again even where finished outputs exist.
    top_percent : float
        Cells kept in the audible explanations.
    scale_waveform : bool
        Min-max scale waveform plots to [-1, 1] (the study's option).
    corpus_root : path-like, optional
        Folder the store's ``path`` column is relative to (default ``data/raw/<corpus>``).
    seed : int
        Seed of the methods that draw random numbers (LIME, SmoothGrad, SHAP).
    float32 : bool
        Explain a float32 copy of a mixed-precision model (the default: bfloat16 gradients
        carry about 3 significant digits, and the studies explained float32 models); False
        explains the model in the precision it was trained in.
    figures : bool
        Draw figures and sounds (False: result files only).
    model : keras.Model, optional
        The loaded model (default: the task's model file).
    selection : dict, optional
        How the samples were chosen, recorded in the JSON files.

    Returns
    -------
    ExplainResult
        ``failures`` lists every (method, sample) that failed; the rest are done.
    """
    from tqdm.auto import tqdm

    from ..explain import METHODS, Explanation, get_explainer, work
    from ..models.datasets import BatchReader, apply_scaling, load_scaling

    t0 = time.time()
    names = _parse_methods(methods, task)
    if not 0 < float(top_percent) <= 100:
        raise ParameterError(f"top_percent={top_percent!r} must be in (0, 100]")
    missing_cols = {"sample_id", "array", "row", "target", "predicted"} - set(samples.columns)
    if missing_cols:
        raise ParameterError(f"samples lack columns {sorted(missing_cols)}: choose them with test_table()/select_*()")
    log = EventLog(run.dir)
    store = _store(run, task)
    model = model if model is not None else _load_model(run, task)
    if float32:
        model = float32_model(model)
    precision = model_precision(model)
    refused = [n for n in names if precision != "float32" and not METHODS[n].bfloat16]
    if refused:
        raise ParameterError(f"{', '.join(refused)}: explaining the model as trained ({precision}) is not offered, "
                             "its maps do not agree with float32's (bench/RESULTS.md); explain in float32, "
                             "the default")
    scaling = load_scaling(run, task)
    samples = samples.reset_index(drop=True)
    result = ExplainResult(task, samples)
    if samples.empty:
        log("explain_nothing", task=task.name, methods=names)
        return result

    # every explainer is built first: unknown methods or parameters fail before any work
    background = None
    explainers = {}
    for name in names:
        p = method_params(task, name, params, seed=seed)
        if "background" in METHODS[name].defaults and p.get("background") is None:
            if background is None:
                background = _background(run, task, store, scaling, seed)
            p["background"] = background
        explainers[name] = get_explainer(name, model, **p)

    reader = BatchReader(store.path)
    try:
        raw = reader.read(samples[["array", "row"]].to_numpy(dtype=np.int64))
    finally:
        reader.close()
    x = apply_scaling(raw, scaling)
    tabular = raw.ndim == 2  # (n, features): the 1D CNN
    mode = store.attrs.get("config", {}).get("mode", "exact")
    root = None
    signals: dict[int, np.ndarray | None] = {}

    def signal(i: int):
        nonlocal root
        if i not in signals:
            row = samples.iloc[i]
            if "#" in str(row["sample_id"]):
                signals[i] = None  # a noise-augmented copy has no recording of its own
            else:
                root = root or find_corpus_root(store, corpus_root)
                signals[i] = (embedded_signal(row, root, mode) if task.representation == "alexnet"
                              else excerpt_signal(row, root))
        return signals[i]

    model_sha = sha256_file(run.model_path(task)) if run.model_path(task).is_file() else None
    log("explain_start", task=task.name, methods=names, samples=len(samples), force=force,
        selection=json.dumps(selection or {}, default=str))
    bar = tqdm(total=len(samples) * len(names), desc=f"explain {task.name}", unit="map", disable=not progress)
    try:
        # 1. the samples' own figures (independent of the method)
        if figures and not tabular:
            for i in range(len(samples)):
                row = samples.iloc[i]
                try:
                    result.figures += _sample_figures(run, task, row, raw[i], lambda: signal(i),
                                                      scale=scale_waveform, force=force)
                except XaispecError as exc:
                    f = Failure(task.name, "figures", str(row["sample_id"]), _error_text(exc))
                    result.failures.append(f)
                    signals[i] = None
                    log("explain_failed", task=task.name, method="figures", sample_id=f.sample_id, error=f.error)

        # 2. each method
        for name in names:
            before = work()
            mres = _explain_method(run, task, name, explainers[name], samples, x, raw, signal, bar=bar, log=log,
                                   force=force, figures=figures and not tabular, top_percent=top_percent,
                                   model_sha=model_sha, float32=float32)
            if tabular and figures and (mres.explained or force or not _plots_exist(run, task, name)):
                expl = Explanation.load(mres.npz) if mres.npz.is_file() else None
                if expl is not None and "inputs" in expl.extra:
                    try:
                        mres.plots = feature_plots(run, task, name, expl, expl.extra["inputs"])
                    except Exception as exc:  # a plot failure is reported, the rest continues
                        mres.failures.append(Failure(task.name, name, "plots", _error_text(exc)))
            mres.work = {k: v - before[k] for k, v in work().items()}
            _write_json(run, task, name, explainers[name], mres, model_sha=model_sha, selection=selection,
                        top_percent=top_percent, float32=float32, precision=precision, n_selected=len(samples))
            result.methods[name] = mres
            result.failures += mres.failures
            log("explain_done", task=task.name, method=name, explained=mres.explained, reused=mres.reused,
                failed=len(mres.failures), precision=precision, csv=str(mres.csv), **mres.work)
    finally:
        bar.close()
    result.seconds = time.time() - t0
    return result


def _plots_exist(run: Run, task: Task, method: str) -> bool:
    from .. import figures as plots

    folder = run.dir / "plots" / "xai" / plots.METHOD_DIRS.get(method, method) / task.name
    return (folder / "bar_mean.png").is_file() or (folder / "bar_target.png").is_file()


def _config_key(explainer, model_sha, top_percent: float, float32: bool) -> str:
    """Short hash of what an explanation depends on besides the sample: parameters, model, options."""
    import hashlib

    from ..explain.base import jsonable

    text = json.dumps({"params": jsonable(explainer.params), "model": model_sha, "top_percent": float(top_percent),
                       "float32": bool(float32)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _explain_method(run: Run, task: Task, name: str, explainer, samples: pd.DataFrame, x: np.ndarray,
                    raw: np.ndarray, signal, *, bar, log, force: bool, figures: bool, top_percent: float,
                    model_sha=None, float32: bool = False) -> MethodResult:
    """Explain the samples not yet done with one method; merge into its result files."""
    from ..explain import Explanation

    csv, npz, js = result_paths(run, task, name)
    mres = MethodResult(name, csv, npz, js)
    config = _config_key(explainer, model_sha, top_percent, float32)
    tabular = raw.ndim == 2
    ids = samples["sample_id"].astype(str).tolist()

    # what is already finished: a CSV row, a map in the npz and (when drawn) its files
    old_table = pd.read_csv(csv, dtype=str, keep_default_na=False) if csv.is_file() else None
    old = None
    if old_table is not None and npz.is_file():
        try:
            old = Explanation.load(npz)
        except DataError:
            old = None
    done = set()
    if old is not None and not force and "sample_ids" in old.extra:
        have = set(np.asarray(old.extra["sample_ids"]).astype(str))
        for rec in old_table.to_dict("records"):
            sid = rec["sample_id"]
            if sid not in have or sid not in ids or rec.get("config") != config:
                continue  # not explained, not asked for, or made with other parameters or another model
            files = [rec.get(k, "") for k in ("figure", "panel", "wav")] if figures else []
            if all((run.dir / f).is_file() for f in files if f):
                if not figures or rec.get("figure"):
                    done.add(sid)
    todo = [i for i, sid in enumerate(ids) if sid not in done]
    mres.reused = len(ids) - len(todo)
    bar.update(mres.reused)
    if not todo:
        return mres

    rows, parts, part_ids = [], [], []
    chunk = BATCH if name in BATCHED else 1
    queue = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]
    while queue:
        idx = queue.pop(0)
        try:
            expl = explainer.explain(x[idx], samples["target"].to_numpy(dtype=np.int64)[idx])
        except Exception as exc:
            if len(idx) > 1:  # find the sample(s) that fail: one at a time
                queue = [[i] for i in idx] + queue
                continue
            f = Failure(task.name, name, ids[idx[0]], _error_text(exc))
            mres.failures.append(f)
            log("explain_failed", task=task.name, method=name, sample_id=f.sample_id, error=f.error)
            bar.update(1)
            continue
        if tabular:
            expl.extra["inputs"] = x[idx].reshape(len(idx), -1)
        per_sample = expl.runtime / len(idx)
        for j, i in enumerate(idx):
            row = samples.iloc[i]
            paths = {"figure": None, "panel": None, "wav": None}
            if figures:
                try:
                    one = {k: v[j] for k, v in expl.extra.items() if k not in GLOBAL_EXTRA
                           and isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == len(idx)}
                    paths = _method_figures(run, task, name, row, raw[i], signal(i), expl.maps[j], one,
                                            top_percent=top_percent)
                except Exception as exc:
                    f = Failure(task.name, name, ids[i], "figures: " + _error_text(exc))
                    mres.failures.append(f)
                    log("explain_failed", task=task.name, method=name, sample_id=f.sample_id, error=f.error)
                    bar.update(1)
                    continue
            parts.append(_take(expl, j))
            part_ids.append([ids[i]])
            rows.append({"sample_id": ids[i], "participant": row["participant"], "sex": row["sex"],
                         "actual": row["actual"], "predicted": row["predicted"], "target": int(expl.targets[j]),
                         "target_class": task.classes[int(expl.targets[j])], "runtime": round(per_sample, 6),
                         "config": config,
                         "figure": _rel(run, paths["figure"]), "panel": _rel(run, paths["panel"]),
                         "wav": _rel(run, paths["wav"])})
            bar.update(1)
    mres.explained = len(rows)
    if not rows:
        return mres

    # merge with what was kept from earlier calls (those rows are replaced when redone)
    new_ids = {r["sample_id"] for r in rows}
    kept_parts, kept_ids = [], []
    if old is not None and "sample_ids" in old.extra:
        old_ids = np.asarray(old.extra["sample_ids"]).astype(str)
        keep = np.array([s not in new_ids for s in old_ids])
        if keep.any():
            kept_parts, kept_ids = [_subset(old, keep)], [old_ids[keep]]
    merged = _concat(kept_parts + parts, kept_ids + part_ids)
    merged.save(npz)
    new_table = pd.DataFrame(rows)
    if old_table is not None and not old_table.empty:
        old_table = old_table[~old_table["sample_id"].isin(new_ids)]
        new_table = pd.concat([old_table, new_table.astype({c: str for c in new_table.columns})], ignore_index=True)
    write_text_atomic(csv, new_table.to_csv(index=False))
    return mres


def _provenance() -> dict:
    """Versions and commit; the commit of this package's checkout when the project root
    (``$XAISPEC_ROOT``) is not a git checkout."""
    from ..provenance import git_commit, record

    rec = record()
    if rec.get("git_commit") == "unknown":
        source = Path(__file__).resolve().parents[2]
        if (source / ".git").exists():
            rec["git_commit"] = git_commit(source)
    return rec


def _write_json(run: Run, task: Task, name: str, explainer, mres: MethodResult, *, model_sha, selection,
                top_percent, float32, precision, n_selected) -> None:
    from ..explain.base import jsonable

    if mres.explained == 0 and not mres.failures and mres.json.is_file():
        return  # everything reused: the record of the run that made it stays
    write_json_atomic(mres.json, {
        "task": task.name, "label": task.label, "fold": task.fold, "model": task.model, "method": name,
        "params": jsonable(explainer.params), "model_file": _rel(run, run.model_path(task)), "model_sha256": model_sha,
        "selection": jsonable(selection or {}), "selected": n_selected, "explained": mres.explained,
        "reused": mres.reused, "failures": [f.__dict__ for f in mres.failures], "top_percent": top_percent,
        "float32": float32, "precision": precision, "work": mres.work, "csv": _rel(run, mres.csv),
        "npz": _rel(run, mres.npz),
        "plots": [_rel(run, p) for p in mres.plots],
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "provenance": _provenance(),
    })


def explain_models(run: Run, tasks: list[Task], *, mode: str = "examples", n: int = 1, seed: int = 0,
                   **options) -> list[ExplainResult]:
    """The study's first way: several models, each with mode ``examples``, ``all`` or ``single``.

    ``options`` are passed to :func:`explain` (methods, params, force, ...).
    """
    out = []
    for task in tasks:
        model = _load_model(run, task)
        table = test_table(run, task, model=model)
        samples = select_examples(table, task, mode=mode, n=n, seed=seed)
        out.append(explain(run, task, samples, model=model, seed=seed,
                           selection={"way": "models", "mode": mode, "n": n, "seed": seed}, **options))
    return out


def explain_sample(run: Run, task: Task, *, sample_id: str | None = None, digit=None, participant=None,
                   repetition=None, **options) -> ExplainResult:
    """The study's second way: one given sample of one model."""
    model = _load_model(run, task)
    table = test_table(run, task, model=model)
    samples = select_sample(table, run, task, sample_id=sample_id, digit=digit, participant=participant,
                            repetition=repetition)
    sel = {"way": "sample", "sample_id": sample_id, "digit": digit, "participant": participant,
           "repetition": repetition}
    return explain(run, task, samples, model=model, selection=sel, **options)


def explain_predictions(run: Run, task: Task, *, which: str = "wrong", first: int | None = None,
                        **options) -> ExplainResult:
    """The study's third way: the ``wrong`` or ``correct`` predictions of one model, optionally the first N."""
    model = _load_model(run, task)
    table = test_table(run, task, model=model)
    samples = select_predictions(table, which=which, first=first)
    return explain(run, task, samples, model=model, selection={"way": "predictions", "which": which, "first": first},
                   **options)
