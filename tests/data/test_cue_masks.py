"""Ground-truth masks of the planted-cue corpora: recomputed from the synthesis parameters
with the study's own STFT, where they lie, what localisation makes of them, and bad cue files."""
from __future__ import annotations

import numpy as np
import pytest

from xaispec.data.prepare import prepare
from xaispec.data.rows import MASK_DB, cue_mask, cue_time_mask, has_masks
from xaispec.data.store import Store
from xaispec.data.synth import cue_signal, read_cue_manifest, synthesize_cues
from xaispec.evaluation.localisation import localisation

SR = 16000
LENGTH = int(0.9 * SR)
KINDS = ("tone", "clicks", "pair")


def study_db(samples: np.ndarray, offset: int) -> np.ndarray:
    """The AudioMNIST study's spectrogram of int16 samples, written out plainly."""
    import librosa
    import scipy.signal

    data = librosa.core.resample(y=samples.astype(np.float32), orig_sr=SR, target_sr=8000, res_type="scipy")
    embedded = np.zeros(8000)
    embedded[offset:offset + len(data)] = data
    _, _, z = scipy.signal.stft(embedded, 8000, nperseg=455, noverlap=420, window="hann")
    return librosa.amplitude_to_db(np.abs(z[0:227, 2:-1]), ref=np.max)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("cuemasks")
    out = {}
    for kind in KINDS:
        corpus = synthesize_cues(root / kind, kind=kind, speakers=2, clips=2, seed=1, progress=False)
        result = prepare(f"synthetic-cues-{kind}", corpus, out_dir=root / f"{kind}-store", workers=1,
                         progress=False)
        waves = prepare(f"synthetic-cues-{kind}", corpus, representation="audionet", out_dir=root / f"{kind}-waves",
                        workers=1, progress=False)
        out[kind] = (corpus, Store(result.store), Store(waves.store))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_masks_are_the_cue_alone_through_the_study_stft(stores, kind):
    corpus, store, _ = stores[kind]
    masks = store.load(name="mask")
    records = read_cue_manifest(corpus)
    assert masks.dtype == np.uint8 and masks.shape == (len(store.index), 227, 227)
    for i, row in store.index.iterrows():
        # the cue made again from its recorded parameters, not read from its file
        cue = np.round(cue_signal(records[row["path"]]["cue"], sample_rate=SR, length=LENGTH)).astype(np.int16)
        expected = study_db(cue, int(row["offset"])) >= -MASK_DB
        assert np.array_equal(masks[i].astype(bool), expected), row["path"]
        # a burst is a small patch; a click train spans most frequencies over its length
        assert 0 < masks[i].sum() < masks[i].size * {"tone": 0.01, "pair": 0.02, "clicks": 0.6}[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_waveform_masks_are_the_samples_nearest_the_cue_columns(stores, kind):
    """The AudioNet store's mask: the samples whose nearest spectrogram column (frame k + 2 of the
    study's STFT, centred on sample 35 (k + 2)) holds a cell of the study's mask of the cue."""
    corpus, _, waves = stores[kind]
    masks = waves.load(name="mask")
    records = read_cue_manifest(corpus)
    assert masks.dtype == np.uint8 and masks.shape == (len(waves.index), 8000)
    centres = 35 * (np.arange(227) + 2)
    nearest = np.abs(np.arange(8000)[:, None] - centres[None, :]).argmin(axis=1)   # ties: the earlier column
    for i, row in waves.index.iterrows():
        cue = np.round(cue_signal(records[row["path"]]["cue"], sample_rate=SR, length=LENGTH)).astype(np.int16)
        columns = (study_db(cue, int(row["offset"])) >= -MASK_DB).any(axis=0)
        assert np.array_equal(masks[i].astype(bool), columns[nearest]), row["path"]
        # the same second as the spectrogram's: the cue's samples are where its energy is
        alone = np.zeros(8000)
        alone[int(row["offset"]):int(row["offset"]) + LENGTH // 2] = cue[::2]   # 16 kHz -> 8 kHz, roughly
        energy = alone ** 2
        assert energy[masks[i].astype(bool)].sum() > 0.9 * energy.sum(), row["path"]


def test_waveform_mask_and_complement_score_one_and_zero_in_time(stores):
    """A waveform's maps are scored in the spectrogram's columns: relevance on the cue's samples
    alone scores 1, on the other samples 0; the columns are the spectrogram mask's."""
    from xaispec.models.runs import ModelSpec
    from xaispec.study.groundtruth import scored_maps, scored_masks

    _, store, waves = stores["tone"]
    masks = waves.load(name="mask").astype(bool)
    task = ModelSpec("cue", 0, "audionet")
    maps, columns = scored_maps(task, masks.astype(float)), scored_masks(task, masks)
    assert columns.shape == (len(masks), 227)
    assert np.array_equal(columns, store.load(name="mask").astype(bool).any(axis=1))
    perfect = localisation(maps, columns)
    for name in ("relevance_mass", "relevance_rank", "pointing_game", "localisation_auc"):
        assert np.allclose(perfect[name].values, 1.0), name
    wrong = localisation(scored_maps(task, (~masks).astype(float)), columns)
    assert np.allclose(wrong["relevance_mass"].values, 0.0)


def test_tone_mask_sits_at_the_tone_and_its_time(stores):
    corpus, store, _ = stores["tone"]
    records = read_cue_manifest(corpus)
    masks = store.load(name="mask")
    hz_per_row, hop = 8000 / 455, 35   # the STFT's bin spacing and hop at 8 kHz
    for i, row in store.index.iterrows():
        cue = records[row["path"]]["cue"]
        rows, cols = np.nonzero(masks[i])
        # frequency: the rows straddle the tone (the Hann main lobe is +-2 bins wide)
        assert rows.min() * hz_per_row <= cue["frequency"] <= rows.max() * hz_per_row
        assert (rows.max() - rows.min()) <= 6
        # time: the columns cover the burst, at most a window's length around it
        start = row["offset"] + cue["onset"] / 2   # 16 kHz samples -> 8 kHz
        stop = start + cue["duration"] / 2
        frame_times = (np.arange(227) + 2) * hop   # frame k of the kept [2:-1] is centred at (k + 2) * hop
        assert frame_times[cols.min()] >= start - 455 / 2 - hop
        assert frame_times[cols.max()] <= stop + 455 / 2 + hop


def test_clicks_mask_is_wide_in_frequency_and_pair_mask_has_two_bursts(stores):
    masks = stores["clicks"][1].load(name="mask").astype(bool)
    assert all(np.unique(np.nonzero(m)[0]).size > 100 for m in masks)   # broadband clicks
    for m in stores["pair"][1].load(name="mask").astype(bool):
        rows = np.unique(np.nonzero(m)[0])
        assert np.diff(rows).max() > 10   # two bands, far apart


def test_mask_and_complement_score_one_and_zero(stores):
    masks = stores["tone"][1].load(name="mask").astype(bool)
    perfect = localisation(masks.astype(float), masks)
    for name in ("relevance_mass", "relevance_rank", "pointing_game", "localisation_auc"):
        assert np.allclose(perfect[name].values, 1.0), name
    wrong = localisation((~masks).astype(float), masks)
    assert np.allclose(wrong["relevance_mass"].values, 0.0)
    assert np.allclose(wrong["relevance_rank"].values, 0.0)
    assert np.allclose(wrong["localisation_auc"].values, 0.0)


def test_moved_cue_moves_its_mask(stores):
    corpus, store, _ = stores["tone"]
    rec = read_cue_manifest(corpus)[store.index["path"][0]]
    offset = int(store.index["offset"][0])
    here = cue_mask(np.round(cue_signal(rec["cue"], sample_rate=SR, length=LENGTH)), sr=SR, offset=offset)
    moved = {**rec["cue"], "onset": rec["cue"]["onset"] - 1400 if rec["cue"]["onset"] >= 1400 else rec["cue"]["onset"] + 1400}
    there = cue_mask(np.round(cue_signal(moved, sample_rate=SR, length=LENGTH)), sr=SR, offset=offset)
    shift = (moved["onset"] - rec["cue"]["onset"]) // 2 // 35   # 16 kHz samples -> frames
    cols_here, cols_there = np.nonzero(here.any(axis=0))[0], np.nonzero(there.any(axis=0))[0]
    assert abs((cols_there.mean() - cols_here.mean()) - shift) <= 1
    assert np.array_equal(np.nonzero(here.any(axis=1))[0], np.nonzero(there.any(axis=1))[0])


def test_only_cue_corpora_have_masks(fsdd, tmp_path):
    assert has_masks("synthetic-cues-noise") and not has_masks("fsdd") and not has_masks("audiomnist")
    result = prepare("fsdd", fsdd, out_dir=tmp_path, limit=4, workers=1, progress=False)
    assert "mask" not in Store(result.store).arrays
    waves = prepare("fsdd", fsdd, representation="audionet", out_dir=tmp_path / "w", limit=4, workers=1, progress=False)
    assert "mask" not in Store(waves.store).arrays


def test_missing_or_silent_cue_skips_the_clip_naming_the_file(tmp_path):
    corpus = synthesize_cues(tmp_path / "c", kind="tone", speakers=1, clips=1, seed=2, progress=False)
    missing, silent = corpus / "cues/01/0_01_0.wav", corpus / "cues/01/1_01_0.wav"
    missing.unlink()
    import soundfile as sf

    sf.write(silent, np.zeros(LENGTH, dtype=np.int16), SR, subtype="PCM_16")
    result = prepare("synthetic-cues-tone", corpus, out_dir=tmp_path / "s", workers=1, progress=False)
    reasons = {s.path: s.reason for s in result.skipped}
    assert result.n_samples == 2
    assert "is missing" in reasons["clips/01/0_01_0.wav"] and "cues/01/0_01_0.wav" in reasons["clips/01/0_01_0.wav"]
    assert "silent" in reasons["clips/01/1_01_0.wav"]


def test_waveform_column_mask_pools_samples_into_columns_and_takes_an_empty_batch():
    """A column is in the mask when any of its samples is; no clip gives no rows; a mask of
    another length is refused by its shape."""
    from xaispec.audio.features import sample_columns
    from xaispec.errors import ParameterError
    from xaispec.evaluation.profiles import waveform_column_mask

    masks = np.zeros((2, 8000), dtype=bool)
    masks[0, 4000] = True
    columns = waveform_column_mask(masks)
    assert columns.shape == (2, 227) and not columns[1].any()
    assert np.flatnonzero(columns[0]).tolist() == [sample_columns()[4000]]
    assert np.array_equal(waveform_column_mask(masks[..., None]), columns)
    assert waveform_column_mask(np.zeros((0, 8000), dtype=bool)).shape == (0, 227)
    with pytest.raises(ParameterError, match=r"masks of shape \(2, 4000, 2\) are not \(n, 8000\)"):
        waveform_column_mask(np.zeros((2, 4000, 2), dtype=bool))
