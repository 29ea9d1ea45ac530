"""Does the audible explanation still carry the decision? Fid-In measured on sound.

The audible explanation (:func:`xaispec.audio.resynthesis.audible_explanation`: the STFT cells
of the top-k% positive evidence, original phase, inverse STFT) is turned back into a model
input exactly as the store was prepared (``to_input``: the study's dB spectrogram and the
fold's scaling) and classified. The recording with those same cells removed (every other
cell resynthesised) is classified too: evidence that was really used should leave it less
sure of the class. Only inputs with a resynthesis have this metric: AlexNet's 227 x 227
spectrograms (an 8-kHz second); the emotion models' mel features have none.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..audio.features import ALEXNET_LEN, ALEXNET_SHAPE
from ..audio.resynthesis import normalise, reconstruct, top_cells
from ..errors import ParameterError
from .base import Score, as_forward

#: the sound metrics, their direction
SOUND_METRICS = {"sound_fid_in": True, "sound_p_kept": True, "sound_out_fid": False, "sound_out_p_kept": False}


def sound_scores(model, signals, maps, targets, *, to_input: Callable[[np.ndarray], np.ndarray], percents=(20,),
                 batch_size: int = 64) -> dict[str, Score]:
    """The audible explanation and its complement fed back to the model.

    Parameters
    ----------
    model : keras.Model, callable or Forward
    signals : np.ndarray, shape (n, 8000)
        The embedded 8-kHz seconds the spectrograms were computed from.
    maps : np.ndarray, shape (n, 227, 227)
    targets : np.ndarray, shape (n,)
    to_input : callable
        ``to_input(audio (m, 8000)) -> model inputs (m, 227, 227)``: the store's spectrogram
        and the model's scaling, the same as for the recordings.
    percents : sequence of float
        The audible explanations' ``top_percent`` (at most that share of the cells, positive
        evidence only).

    Returns
    -------
    dict
        ``"<metric>_<k>"`` -> Score per sample: ``sound_fid_in`` (the explanation is still
        classified as the explained class), ``sound_p_kept`` (its class probability over
        the recording's), ``sound_out_fid`` and ``sound_out_p_kept`` (the same for the
        recording with the cells removed; lower: the removed cells carried the decision).
        Each sample costs ``1 + 2 * len(percents)`` forward rows.
    """
    forward = as_forward(model, batch_size=batch_size)
    signals = np.asarray(signals, dtype=np.float64)
    maps = np.asarray(maps, dtype=np.float64)
    t = np.asarray(targets, dtype=np.int64).reshape(-1)
    if signals.shape != (len(maps), ALEXNET_LEN) or maps.shape[1:] != ALEXNET_SHAPE or len(t) != len(maps):
        raise ParameterError(f"sound metrics need n 8-kHz seconds (n, {ALEXNET_LEN}), maps (n, 227, 227) and n "
                             f"targets; got {signals.shape}, {maps.shape} and {t.shape}")
    pct = [float(k) for k in percents]
    if not pct or min(pct) <= 0 or max(pct) > 100:
        raise ParameterError(f"percents={list(percents)!r} must be percentages in (0, 100]")
    audio = []
    for y, a in zip(signals, maps):
        kept = [top_cells(a, k) for k in pct]
        audio += [y, *(normalise(reconstruct(y, m)) for m in kept), *(reconstruct(y, ~m) for m in kept)]
    before = forward.rows
    inputs = np.asarray(to_input(np.stack(audio)), dtype=np.float32)
    probs = forward(inputs).reshape(len(maps), 1 + 2 * len(pct), -1)
    cost = (forward.rows - before) // len(pct)
    idx = np.arange(len(maps))
    p = probs[idx, 0, t][:, None]
    inside, outside = probs[:, 1:1 + len(pct)], probs[:, 1 + len(pct):]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {"sound_fid_in": (inside.argmax(axis=2) == t[:, None]).astype(np.float64),
                  "sound_p_kept": inside[idx, :, t] / p,
                  "sound_out_fid": (outside.argmax(axis=2) == t[:, None]).astype(np.float64),
                  "sound_out_p_kept": outside[idx, :, t] / p}
    return {f"{name}_{k:g}": Score(f"{name}_{k:g}", table[:, j], higher_is_better=SOUND_METRICS[name], forward=cost,
                                   params={"percent": k, "resynthesis": "STFT cells with their phase, inverse STFT",
                                           "input": "recomputed as the store was prepared"})
            for name, table in values.items() for j, k in enumerate(pct)}
