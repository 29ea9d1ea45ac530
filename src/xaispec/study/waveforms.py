"""What AudioNet's explanations show, as the waveform pages of the explanation chapter show it:
relevance over the waveform with the same second's spectrogram below, the waveform weighted by
its relevance as sound, and where AlexNet's and AudioNet's evidence lies in time and frequency
for the same test samples (the AudioMNIST paper's comparison, measured).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation.profiles import (centre_seconds, map_profiles, profile_correlation, waveform_frequency_profile,
                                   waveform_time_profile)
from ..figures.paths import method_name
from ..models.runs import ModelSpec, Run
from .results import method_paths, result_paths, sample_paths

#: mean correlation of two time profiles from which the book calls them in agreement, and below
#: which it calls them unrelated (in between: partly)
AGREE, UNRELATED = 0.5, 0.2
#: the samples drawn per method on a page
SHOWN = 3


@dataclass
class Waveforms:
    """AudioNet's explanations of the book's samples of one label and fold.

    Attributes
    ----------
    run : Run
    task : ModelSpec
        The AudioNet model.
    samples : pandas.DataFrame
        The book's samples explained by every method, in the book's order
        (:func:`xaispec.study.steps.book_samples`).
    waveforms : np.ndarray, shape (n, 8000)
        Their embedded second at 8 kHz, in 16-bit units, as AudioNet's store holds it.
    spectrograms : np.ndarray, shape (n, 227, 227)
        The same seconds' dB spectrograms from the AlexNet store.
    relevance : dict of str -> np.ndarray, shape (n, 8000)
        Each method's map of the samples.
    """

    run: Run
    task: ModelSpec
    samples: pd.DataFrame
    waveforms: np.ndarray
    spectrograms: np.ndarray
    relevance: dict = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(self.relevance)


def _maps_by_id(run: Run, task: ModelSpec, method: str) -> dict[str, np.ndarray]:
    from ..explain import Explanation

    npz = result_paths(run, task, method)[1]
    if not npz.is_file():
        return {}
    e = Explanation.load(npz)
    return {str(s): e.maps[i] for i, s in enumerate(e.extra["sample_ids"])}


def load_waveforms(run: Run, label: str, fold, methods: list[str], options: dict, *, seed: int = 0) -> Waveforms:
    """Read AudioNet's explanations of ``label`` and ``fold`` by ``methods`` (those with results).

    Parameters
    ----------
    run : Run
    label : str
    fold : int
    methods : list of str
    options : dict
        What the book explains of AudioNet (:func:`xaispec.book.explain_options`).
    seed : int
        The profile's seed.
    """
    from ..data.store import Store
    from .steps import book_samples

    task = run.task(label, fold, "audionet")
    maps = {m: _maps_by_id(run, task, m) for m in methods}
    maps = {m: v for m, v in maps.items() if v}
    samples = book_samples(run, task, options, seed=seed)
    ids = samples["sample_id"].astype(str)
    keep = ids.isin(set.intersection(*(set(v) for v in maps.values()))) if maps else ids.isin([])
    samples = samples[keep.to_numpy()].reset_index(drop=True)
    ids = samples["sample_id"].astype(str).tolist()
    waves = Store(run.store("audionet"))
    spectra = Store(run.store("alexnet"))
    return Waveforms(run, task, samples,
                     waves.load(waves.rows(ids)).reshape(len(ids), -1) if ids else np.zeros((0, 8000), np.float32),
                     spectra.load(spectra.rows(ids)) if ids else np.zeros((0, 227, 227), np.float32),
                     {m: np.stack([v[i].reshape(-1) for i in ids]) if ids else np.zeros((0, 8000)) for m, v in maps.items()})


def caption(row) -> str:
    """A sample's title in figures: digit, speaker, actual and predicted class."""
    digit = f"digit {row['digit']}, " if "digit" in row and pd.notna(row.get("digit")) else ""
    return f"{digit}{row['participant']} ({row['sex']}): {row['actual']} -> {row['predicted']}"


def relevance_figure(w: Waveforms, method: str, *, n: int = SHOWN):
    """The first ``n`` samples' waveforms coloured by ``method``'s relevance over their spectrograms."""
    from ..figures.waveforms import relevance_waveforms

    k = min(n, len(w.samples))
    rows = [w.samples.iloc[i] for i in range(k)]
    return relevance_waveforms(w.waveforms[:k] / 32768.0, w.relevance[method][:k], w.spectrograms[:k],
                               [caption(r) for r in rows])


@dataclass
class Heard:
    """A sample's recording and the waveform weighted by one method's positive relevance."""

    method: str
    sample_id: str
    recording: Path
    audible: Path


def heard(w: Waveforms, method: str, *, smooth_ms: float = 20.0) -> Heard | None:
    """Write (once) the first sample's recording and ``method``'s audible explanation of it;
    None when no sample was explained."""
    from ..audio.resynthesis import audible_waveform, write_wav

    if w.samples.empty:
        return None
    row = w.samples.iloc[0]
    recording = sample_paths(w.run, w.task, row)["waveform_wav"]
    audible = method_paths(w.run, w.task, method, row)["wav"]
    if not recording.is_file():
        write_wav(recording, np.asarray(w.waveforms[0] / 32768.0, dtype=np.float32))
    write_wav(audible, audible_waveform(w.waveforms[0], w.relevance[method][0], smooth_ms=smooth_ms))
    return Heard(method, str(row["sample_id"]), recording, audible)


@dataclass
class Comparison:
    """AlexNet's and AudioNet's evidence on the same samples, by the methods both were explained with.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method: samples compared; the mean (and standard deviation) correlation of
        the two models' time profiles and of their frequency profiles; each model's time profile
        against the recording's energy; the mean centre of each model's evidence in time (s).
    profiles : dict
        Method -> ``{"time": {model: profile}, "frequency": {...}, "sample_id": ...}``: the profiles
        of the first sample the method compared.
    """

    table: pd.DataFrame
    profiles: dict


def compare(w: Waveforms, alexnet: ModelSpec, methods: list[str]) -> Comparison:
    """Compare AudioNet's maps of ``w`` with AlexNet's (``alexnet``, same label and fold) for every
    method of ``methods`` both were explained with, on the samples both explained."""
    rows, profiles = [], {}
    ids = w.samples["sample_id"].astype(str).tolist()
    for method in [m for m in w.methods if m in methods]:   # in the waveform page's order
        other = _maps_by_id(w.run, alexnet, method)
        both = [i for i, s in enumerate(ids) if s in other]
        if not both:
            continue
        spec_maps = np.stack([other[ids[i]] for i in both])
        rel, x = w.relevance[method][both], w.waveforms[both]
        a_time, a_freq = map_profiles(spec_maps)
        b_time, b_freq = waveform_time_profile(rel), waveform_frequency_profile(x, rel)
        # the recordings' own power per column: a map that only follows loudness needs no model
        energy = map_profiles(np.power(10.0, w.spectrograms[both].astype(np.float64) / 10.0))[0]
        r_time, r_freq = profile_correlation(a_time, b_time), profile_correlation(a_freq, b_freq)
        rows.append({"method": method_name(method), "samples": len(both),
                     "time r": np.nanmean(r_time), "time r sd": np.nanstd(r_time),
                     "frequency r": np.nanmean(r_freq), "frequency r sd": np.nanstd(r_freq),
                     "AlexNet ~ energy (time r)": np.nanmean(profile_correlation(a_time, energy)),
                     "AudioNet ~ energy (time r)": np.nanmean(profile_correlation(b_time, energy)),
                     "AlexNet centre (s)": np.nanmean(centre_seconds(a_time)),
                     "AudioNet centre (s)": np.nanmean(centre_seconds(b_time))})
        profiles[method] = {"time": {"AlexNet": a_time[0], "AudioNet": b_time[0], "energy": energy[0]},
                            "frequency": {"AlexNet": a_freq[0], "AudioNet": b_freq[0]}, "sample_id": ids[both[0]]}
    return Comparison(pd.DataFrame(rows), profiles)


def profiles_figure(c: Comparison, method: str):
    """The first compared sample's time and frequency profiles under ``method``."""
    from ..figures.waveforms import evidence_profiles

    p = c.profiles[method]
    return evidence_profiles(p["time"], p["frequency"], title=f"{method_name(method)}, sample {p['sample_id']}")


def agreement_word(r: float) -> str:
    """``agree``, ``partly agree`` or ``do not agree`` for a mean correlation (see :data:`AGREE`)."""
    if not np.isfinite(r):
        return "cannot be compared"
    return "agree" if r >= AGREE else "partly agree" if r >= UNRELATED else "do not agree"


def verdict_text(c: Comparison) -> str:
    """The comparison's verdict, computed from its table (MyST markdown)."""
    if c.table.empty:
        return ("No method explained both networks' samples, so their evidence cannot be compared here: "
                "give the AlexNet pages one of AudioNet's methods.")
    lines = []
    for _, r in c.table.iterrows():
        lead = "AlexNet" if r["AlexNet ~ energy (time r)"] >= r["AudioNet ~ energy (time r)"] else "AudioNet"
        lines.append(f"- **{r['method']}** ({r['samples']} samples): in time the two networks' maps "
                     f"{agreement_word(r['time r'])} (mean r = {r['time r']:.2f}); in frequency they "
                     f"{agreement_word(r['frequency r'])} (r = {r['frequency r']:.2f}). {lead}'s evidence follows "
                     f"the sound's energy more closely (r = {r['AlexNet ~ energy (time r)']:.2f} for AlexNet, "
                     f"{r['AudioNet ~ energy (time r)']:.2f} for AudioNet).")
    return "\n".join(lines) + (f"\n\nThresholds: r >= {AGREE} agree, r < {UNRELATED} do not; a profile is a "
                               "map's share of positive evidence per spectrogram column or row.")
