"""Ground truth: explanations scored where the evidence is known (the planted-cue corpora).

On a planted-cue corpus the label is carried only by a cue whose cells are stored beside
each spectrogram (the AlexNet store's ``mask``) and whose samples are stored beside each
waveform (the AudioNet store's: the samples of the spectrogram columns the cue's cells lie
in). A spectrogram model's maps are scored cell by cell; a waveform model's, which have no
frequency axis, in time: its relevance and its mask pooled into the spectrogram's 227
columns (:func:`scored_maps`, :func:`scored_masks`). Two functions use it for one trained model:

- :func:`localise`: the localisation metrics (relevance mass and rank accuracy, pointing
  game, AUC; :mod:`xaispec.evaluation.localisation`) of every method's maps and of the
  ``random`` and ``energy`` floors, with 95% bootstrap intervals;
- :func:`controls`: the proofs that the model uses the cue. Cue removed (the speech alone
  through the same pipeline): accuracy falls to chance. Cue moved in time (the same cue
  at another onset, mixed under the same speech): the prediction stays, and the maps,
  made again on the moved clip, follow the cue to its new cells.

Both write beside the explanations (``explanations/groundtruth_{short}*``).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import write_json_atomic, write_text_atomic
from ..errors import DataError
from ..evaluation.summary import FLOORS
from ..models.runs import ModelSpec, Run
from .results import provenance_record, result_paths

#: the localisation metrics, in the order the tables show them
METRICS = ("relevance_mass", "relevance_rank", "pointing_game", "localisation_auc")
#: a moved cue starts at least this share of the clip away from where it was
MIN_MOVE = 0.25


def groundtruth_paths(run: Run, task: ModelSpec) -> dict[str, Path]:
    """The result files of :func:`localise` (``csv``, ``summary``, ``json``) and
    :func:`controls` (``controls``, ``controls_samples``) for ``task``."""
    stem = run.dir / "explanations" / f"groundtruth_{task.short}"
    return {"csv": stem.with_suffix(".csv"), "summary": stem.with_name(stem.name + "_summary.csv"),
            "json": stem.with_suffix(".json"), "controls": stem.with_name(stem.name + "_controls.json"),
            "controls_samples": stem.with_name(stem.name + "_controls.csv")}


def scored_maps(task: ModelSpec, maps: np.ndarray) -> np.ndarray:
    """Maps in the geometry the ground truth is scored in: a spectrogram model's as they are
    (n, 227, 227); a waveform model's (n, 8000) as each spectrogram time column's positive
    relevance (n, 227; :func:`~xaispec.evaluation.profiles.waveform_time_profile`)."""
    if task.model == "audionet":
        from ..evaluation.profiles import waveform_time_profile

        return waveform_time_profile(maps)
    return maps


def scored_masks(task: ModelSpec, masks: np.ndarray) -> np.ndarray:
    """Ground-truth masks in the geometry of :func:`scored_maps`: a waveform model's (n, 8000)
    as the time columns that hold a sample of the cue (n, 227;
    :func:`~xaispec.evaluation.profiles.waveform_column_mask`)."""
    if task.model == "audionet":
        from ..evaluation.profiles import waveform_column_mask

        return waveform_column_mask(masks)
    return masks


def _inputs(run: Run, task: ModelSpec, table: pd.DataFrame):
    """The scaled model inputs and the ground-truth masks of the rows of a test table."""
    from ..models.datasets import BatchReader, apply_scaling, load_scaling
    from .samples import task_store

    store = task_store(run, task)
    if "mask" not in store.arrays:
        raise DataError(f"{store.path}: no ground-truth masks (only planted-cue corpora have them)")
    reader = BatchReader(store.path)
    try:
        x = apply_scaling(reader.read(table[["array", "row"]].to_numpy(dtype=np.int64)), load_scaling(run, task))
    finally:
        reader.close()
    return x[..., 0], store.load(table["row"].to_numpy(dtype=np.int64), name="mask").astype(bool)


@dataclass
class Localised:
    """What :func:`localise` found for one model."""

    task: ModelSpec
    sample_ids: list[str]
    rows: pd.DataFrame
    summary: pd.DataFrame
    methods: list[str] = field(default_factory=list)


def localise(run: Run, task: ModelSpec, *, methods, seed: int = 0, model=None) -> Localised:
    """Score every method's maps of ``task`` against the ground-truth masks; write the files.

    Parameters
    ----------
    run : Run
    task : ModelSpec
        A model of the ``cue`` label of a planted-cue corpus.
    methods : sequence of str
        Methods whose explanation files are scored (the floors are added).
    seed : int
        The bootstrap's and the random floor's seed.
    model : keras.Model, optional
        The trained model (default: loaded); the floors need its input.

    Returns
    -------
    Localised
        Long table (``method, metric, sample_id, value``) and summary (mean, 95% bootstrap
        interval, n per method and metric) over the test samples every method explained.

    Raises
    ------
    DataError
        No masks in the store, a missing explanation file, or no sample every method explained.
    """
    from ..data.rows import MASK_DB
    from ..evaluation.localisation import localisation
    from ..evaluation.summary import long_table, summarise
    from ..explain import Explanation
    from ..models.loading import float32_model, load_model
    from .measure import floor_maps
    from .samples import test_table

    names = [m for m in dict.fromkeys(methods) if m not in FLOORS]
    missing = [m for m in names if not result_paths(run, task, m)[1].is_file()]
    if missing:
        raise DataError(f"{run.dir / 'explanations'}: no explanations of {task.name} by {', '.join(missing)}")
    expls = {m: Explanation.load(result_paths(run, task, m)[1]) for m in names}
    ids = [str(s) for s in expls[names[0]].extra["sample_ids"]] if names else []
    for m in names[1:]:
        have = {str(s) for s in expls[m].extra["sample_ids"]}
        ids = [s for s in ids if s in have]
    if not ids:
        raise DataError(f"{task.name}: no test sample explained by every one of {', '.join(names) or 'no method'}")
    model = float32_model(model if model is not None else load_model(run, task))
    table = test_table(run, task, model=model).set_index("sample_id").loc[ids].reset_index()
    x, masks = _inputs(run, task, table)
    maps = {}
    for m, e in expls.items():
        where = {str(sid): i for i, sid in enumerate(e.extra["sample_ids"])}
        maps[m] = e.maps[[where[s] for s in ids]]
    maps.update(floor_maps(model, x, waveform=task.model == "audionet"))
    maps = {m: scored_maps(task, a) for m, a in maps.items()}
    masks = scored_masks(task, masks)
    scores = {m: localisation(maps[m], masks) for m in maps}
    rows = long_table(scores, ids)
    summary = summarise(rows, {metric: True for metric in METRICS}, seed=seed)
    paths = groundtruth_paths(run, task)
    write_text_atomic(paths["csv"], rows.to_csv(index=False))
    write_text_atomic(paths["summary"], summary.to_csv(index=False))
    write_json_atomic(paths["json"], {
        "task": task.name, "cue": _cue_kind(run), "methods": list(maps), "floors": list(FLOORS), "sample_ids": ids,
        "seed": seed, "mask_db": MASK_DB, "model": task.model,
        "geometry": "time columns" if task.model == "audionet" else "cells",
        "mask_cells": [int(m.sum()) for m in masks], "cells": int(masks[0].size),
        "explanations": {m: str(result_paths(run, task, m)[1].name) for m in names},
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "provenance": provenance_record()})
    return Localised(task, ids, rows, summary, list(maps))


def _cue_kind(run: Run) -> str:
    """The cue kind of a run's planted-cue corpus (``synthetic-cues-tone`` -> ``tone``)."""
    return run.processed.name.rsplit("-", 1)[-1]


def moved_onset(cue: dict, *, length: int, rng: np.random.Generator) -> int:
    """A new onset for a cue of a clip of ``length`` samples: at least :data:`MIN_MOVE` of the
    clip away from the old one when the clip allows it, else as far as it allows."""
    latest = length - int(cue["duration"])
    starts = np.arange(latest + 1)
    far = starts[np.abs(starts - int(cue["onset"])) >= MIN_MOVE * length]
    if len(far):
        return int(rng.choice(far))
    return int(0 if cue["onset"] > latest / 2 else latest)


def _model_inputs(signals: list[np.ndarray], offsets, *, sr: int, mode: str, model: str) -> np.ndarray:
    """Clips as the store holds them: embedded 8-kHz seconds (AudioNet), their dB spectrograms (AlexNet)."""
    from ..audio import features as F

    seconds = [F.embedded_second(s, sr=sr, offset=int(o), mode=mode) for s, o in zip(signals, offsets)]
    if model == "audionet":
        return np.stack(seconds).astype(np.float32)
    spectrogram = F.alexnet_spectrogram if mode == "exact" else F.alexnet_spectrogram_fast
    return np.stack([spectrogram(x) for x in seconds])


def controls(run: Run, task: ModelSpec, *, corpus_root, methods=(), params: dict | None = None,
             explained: int = 4, seed: int = 0, model=None, progress: bool = False) -> dict:
    """The cue-removed and cue-moved controls of one model; write them (see the module's docstring).

    Parameters
    ----------
    run : Run
    task : ModelSpec
        A ``cue`` model of a planted-cue corpus.
    corpus_root : path-like
        The corpus folder (clips, ``speech/``, ``cues/`` and ``manifest.json``).
    methods : sequence of str
        Methods that explain the moved clips (the map-follows-the-cue control).
    params : dict, optional
        ``{method: {parameter: value}}`` for those methods.
    explained : int
        Moved clips explained per method: the first correctly predicted test clips.
    seed : int
        Seeds the new onsets and the explainers.

    Returns
    -------
    dict
        ``chance``, ``n``; ``accuracy`` (the clips), ``accuracy_removed`` (speech alone),
        ``accuracy_moved`` and ``kept_moved`` (share of moved clips predicted as before);
        ``largest_class_removed`` (share of the most predicted class without the cue);
        ``follows``: per method the mean relevance mass on the moved cue's cells and on
        the cells it left (``mass_moved``, ``mass_left``) and ``n``.
    """
    from tqdm.auto import tqdm

    from ..audio.reading import read_audio
    from ..data.corpora import companion_paths
    from ..data.rows import cue_mask, cue_time_mask
    from ..data.synth import cue_signal, read_cue_manifest
    from ..evaluation.localisation import localisation
    from ..explain import METHODS, get_explainer, predict
    from ..models.datasets import apply_scaling, load_scaling
    from ..models.loading import float32_model, load_model
    from .options import method_params
    from .samples import task_store, test_table

    root = Path(corpus_root)
    store = task_store(run, task)
    mode = store.attrs["config"].get("mode", "exact")
    model = float32_model(model if model is not None else load_model(run, task))
    table = test_table(run, task, model=model)
    table = table[~table["sample_id"].str.contains("#")].reset_index(drop=True)
    records = read_cue_manifest(root)
    scaling = load_scaling(run, task)

    def to_input(signals, offsets, sr):
        return apply_scaling(_model_inputs(signals, offsets, sr=sr, mode=mode, model=task.model), scaling)

    speech, moved, moved_cues, srs = [], [], [], []
    rng = np.random.default_rng(seed)
    for _, row in tqdm(table.iterrows(), total=len(table), desc=f"controls {task.name}", disable=not progress):
        rec = records.get(row["path"])
        if rec is None:
            raise DataError(f"{root / 'manifest.json'}: no record of {row['path']}")
        audio = read_audio(root / companion_paths(row["path"])["speech"])
        cue = dict(rec["cue"], onset=moved_onset(rec["cue"], length=len(audio.samples), rng=rng))
        shifted = np.round(cue_signal(cue, sample_rate=audio.sr, length=len(audio.samples)))
        speech.append(audio.samples)
        # mixed as the corpus mixes (int16 sum), clipped where the moved cue meets loud speech
        moved.append(np.clip(audio.samples.astype(np.float64) + shifted, -32768, 32767).astype(np.float32))
        moved_cues.append(shifted)
        srs.append(audio.sr)
    if len(set(srs)) > 1:
        raise DataError(f"{root}: the clips have several sample rates {sorted(set(srs))}")
    sr, offsets = srs[0], table["offset"].to_numpy()
    actual, before = table["actual_index"].to_numpy(), table["target"].to_numpy()
    x_removed = to_input(speech, offsets, sr)
    x_moved = to_input(moved, offsets, sr)
    removed = predict(model, x_removed).argmax(axis=1)
    after = predict(model, x_moved).argmax(axis=1)
    out = {"task": task.name, "n": int(len(table)), "chance": 1.0 / len(task.classes),
           "accuracy": float(np.mean(before == actual)), "accuracy_removed": float(np.mean(removed == actual)),
           "accuracy_moved": float(np.mean(after == actual)), "kept_moved": float(np.mean(after == before)),
           "largest_class_removed": float(np.bincount(removed, minlength=len(task.classes)).max() / len(table)),
           "follows": {}, "seed": seed, "explained": int(explained), "min_move": MIN_MOVE}

    # the maps of moved clips: do they follow the cue to its new cells?
    pick = np.flatnonzero((before == actual) & (after == before))[:explained]
    old_masks = store.load(table["row"].to_numpy(dtype=np.int64)[pick], name="mask").astype(bool)
    truth = cue_time_mask if task.model == "audionet" else cue_mask
    new_masks = np.stack([truth(moved_cues[i], sr=sr, offset=int(offsets[i]), mode=mode) for i in pick]).astype(bool) \
        if len(pick) else old_masks
    new_columns, left_columns = scored_masks(task, new_masks), scored_masks(task, old_masks & ~new_masks)
    per_sample = []
    for method in methods if len(pick) else ():
        if method in FLOORS:
            continue
        p = method_params(task, method, params, seed=seed, scaling=scaling)
        if "background" in METHODS[method].defaults and p.get("background") is None:
            from .stage import background_rows

            p["background"] = background_rows(run, task, store, scaling, seed)
        maps = get_explainer(method, model, **p).explain(x_moved[pick], targets=before[pick]).maps
        maps = scored_maps(task, maps)
        on_new = localisation(maps, new_columns)["relevance_mass"].values
        on_old = localisation(maps, left_columns)["relevance_mass"].values
        out["follows"][method] = {"mass_moved": float(np.nanmean(on_new)), "mass_left": float(np.nanmean(on_old)),
                                  "n": int(len(pick))}
        per_sample += [{"method": method, "sample_id": table["sample_id"][i], "mass_moved": float(a),
                        "mass_left": float(b)} for i, a, b in zip(pick, on_new, on_old)]
    samples = table[["sample_id", "path", "actual", "predicted"]].assign(
        predicted_removed=[task.classes[i] for i in removed], predicted_moved=[task.classes[i] for i in after])
    paths = groundtruth_paths(run, task)
    write_text_atomic(paths["controls_samples"], samples.to_csv(index=False))
    out["maps"] = per_sample
    out["provenance"] = provenance_record()
    write_json_atomic(paths["controls"], out)
    return out


def read_groundtruth(run: Run, task: ModelSpec) -> dict:
    """The files of :func:`localise` and :func:`controls`: ``rows``, ``summary``, ``record``, ``controls``,
    ``controls_samples``.

    Raises
    ------
    DataError
        When they are missing.
    """
    paths = groundtruth_paths(run, task)
    missing = [p for p in paths.values() if not p.is_file()]
    if missing:
        raise DataError(f"{missing[0]}: not found (the ground-truth measurements of {task.name} were not made)")
    return {"rows": pd.read_csv(paths["csv"], dtype={"sample_id": str}), "summary": pd.read_csv(paths["summary"]),
            "record": json.loads(paths["json"].read_text(encoding="utf-8")),
            "controls": json.loads(paths["controls"].read_text(encoding="utf-8")),
            "controls_samples": pd.read_csv(paths["controls_samples"], dtype={"sample_id": str})}
