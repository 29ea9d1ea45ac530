"""Planted-cue corpora: exact mixing, cues made again from the manifest, where the cue's energy
lies, labels independent of the speech, reuse/resume/force, bad parameters, index, CLI."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import manifest, mtimes, wavs
from xaispec._io import sha256_file
from xaispec.data.corpora import (
    BASE_COLUMNS,
    CORPORA,
    LABELS,
    companion_paths,
    corpus_summary,
    index_corpus,
    index_cues,
)
from xaispec.data.splits import speaker_folds
from xaispec.data.synth import (
    CUE_DEFAULTS,
    CUE_KINDS,
    DIGIT_WORDS,
    class_bands,
    cue_classes,
    cue_signal,
    read_cue_manifest,
    synthesize_cues,
)
from xaispec.data.synth.cue_corpus import ClipPlan, mix_clip
from xaispec.errors import CorpusMismatch, DataError, ParameterError
from xaispec.events import EventLog

SR = 16000
KW = dict(speakers=2, clips=2, classes=4, sample_rate=SR, seed=0, progress=False)
LENGTH = int(0.9 * SR)


# ----------------------------------------------------------------------------- helpers

def read16(path) -> np.ndarray:
    y, sr = sf.read(str(path), dtype="int16")
    assert sr == SR and y.ndim == 1
    return y


def band_share(y: np.ndarray, low: float, high: float) -> float:
    """Share of the energy of ``y`` between ``low`` and ``high`` Hz."""
    power = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return float(power[(freqs >= low) & (freqs <= high)].sum() / power.sum())


def peak_frequency(y: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(y.astype(np.float64), 8 * len(y))) ** 2
    return float(np.fft.rfftfreq(8 * len(y), 1 / SR)[np.argmax(power)])


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """One small corpus of every kind: 2 speakers x 2 clips x 4 classes (2 for pair)."""
    root = tmp_path_factory.mktemp("cues")
    return {kind: synthesize_cues(root / kind, kind=kind, **KW) for kind in CUE_KINDS}


def records(corpus):
    return read_cue_manifest(corpus)


# ----------------------------------------------------------------------------- constants, bands

def test_kinds_classes_and_bands():
    assert CUE_KINDS == ("tone", "noise", "clicks", "pair")
    assert set(CUE_DEFAULTS) == set(CUE_KINDS)
    assert CUE_DEFAULTS["tone"]["duration"] == 0.1 and CUE_DEFAULTS["noise"]["duration"] == 0.5
    assert CUE_DEFAULTS["clicks"]["duration"] == 0.5
    assert [cue_classes(k, 4) for k in CUE_KINDS] == [4, 4, 4, 2]
    assert cue_classes("pair", 7) == 2
    bands = class_bands(4)
    assert bands.shape == (4, 2)
    assert np.all(bands[:, 0] < bands[:, 1]) and np.all(bands[1:, 0] > bands[:-1, 1])  # gaps between
    assert bands[0, 0] > 300 and bands[-1, 1] < 3600
    seg = np.log(3600 / 300) / 4
    assert np.allclose(np.log(bands[:, 1] / bands[:, 0]), 0.6 * seg)                    # 60 % of a segment
    assert np.allclose(np.log(bands[:, 0] / 300) % seg, 0.2 * seg)                      # in its middle
    assert np.allclose(class_bands(2, band=(500.0, 2000.0)), [[500 * 2 ** 0.2, 500 * 2 ** 0.8],
                                                              [1000 * 2 ** 0.2, 1000 * 2 ** 0.8]])
    with pytest.raises(ParameterError, match="4000"):
        class_bands(4, band=(300.0, 4000.0))


# ----------------------------------------------------------------------------- exact mixing, regeneration

@pytest.mark.parametrize("kind", CUE_KINDS)
def test_clip_is_speech_plus_cue_bit_for_bit(corpora, kind):
    root = corpora[kind]
    for rel, rec in records(root).items():
        clip, speech, cue = (read16(root / p) for p in (rel, rec["companions"]["speech"], rec["companions"]["cue"]))
        assert len(clip) == len(speech) == len(cue) == LENGTH
        assert np.array_equal(clip.astype(np.int32), speech.astype(np.int32) + cue)
        assert sf.info(str(root / rel)).subtype == "PCM_16" and sf.info(str(root / rel)).channels == 1


@pytest.mark.parametrize("kind", CUE_KINDS)
def test_corpus_is_reproducible_from_manifest_and_wavs(corpora, kind):
    root = corpora[kind]
    m = manifest(root)
    assert m["kind"] == f"cues-{kind}" and m["complete"] is True
    assert m["params"]["classes"] == cue_classes(kind, 4) and m["params"]["band"] == [300.0, 3600.0]
    assert m["params"]["duration"] == CUE_DEFAULTS[kind]["duration"]
    assert m["extra_files"]["speakers.json"] == sha256_file(root / "speakers.json")
    for rel, rec in records(root).items():
        assert rec["sha256"] == sha256_file(root / rel)
        for name, path in rec["companions"].items():
            assert rec["companion_sha256"][name] == sha256_file(root / path)
        cue = np.round(cue_signal(rec["cue"], sample_rate=SR, length=LENGTH)).astype(np.int16)
        assert np.array_equal(cue, read16(root / rec["companions"]["cue"]))
        speech = read16(root / rec["companions"]["speech"])
        assert np.array_equal(read16(root / rel), (speech.astype(np.int32) + cue).astype(np.int16))
        # the speech lies where the record says, and nowhere else
        a, b = rec["speech_start"], rec["speech_start"] + rec["speech_samples"]
        assert not speech[:a].any() and not speech[b:].any() and speech[a:b].any()
        # the cue too; a moved onset moves it whole
        on, span = rec["cue"]["onset"], rec["cue"]["duration"]
        assert not cue[:on].any() and not cue[on + span:].any()
        moved = cue_signal({**rec["cue"], "onset": 0}, sample_rate=SR, length=LENGTH)
        assert np.array_equal(np.round(moved)[:span].astype(np.int16), cue[on:on + span])
    # every file of the corpus is in the manifest
    listed = {p for r in m["files"] for p in (r["path"], *r["companions"].values())}
    assert set(wavs(root)) == listed


@pytest.mark.parametrize("kind", CUE_KINDS)
def test_cue_level_relative_to_the_speech(corpora, kind):
    for rec in records(corpora[kind]).values():
        assert rec["level_db"] == pytest.approx(0.0, abs=0.05)
        assert 0 < rec["mix_gain"] <= 1.0
        clip = read16(corpora[kind] / rec["path"])
        assert np.abs(clip).max() <= 0.99 * 32768 + 1


def test_mix_scales_speech_and_cue_together_below_the_peak_limit():
    speech = 0.9 * np.sin(np.arange(4000) / 5.0)
    cue = {"kind": "tone", "class": 0, "sample_rate": SR, "onset": 100, "duration": 1600, "amplitude": 1.0,
           "frequency": 400.0, "band": [340.0, 490.0], "ramp": 160}
    plan = ClipPlan(take=None, speaker=1, gender="male", cue_class=0, rep=0, digit=3, start_fraction=0.0, cue=cue)
    speech_q, cue_q, info = mix_clip(speech, plan, length=LENGTH, level_db=6.0, sample_rate=SR)
    assert info["speech_start"] == 0 and info["speech_samples"] == 4000
    assert info["mix_gain"] < 1.0
    assert np.abs(speech_q.astype(np.int32) + cue_q).max() <= 0.99 * 32768 + 1
    assert np.array_equal(np.round(cue_signal(info["cue"], sample_rate=SR, length=LENGTH)).astype(np.int16), cue_q)
    level = 20 * np.log10(np.std(cue_q[100:1700].astype(float)) / np.sqrt(np.mean(speech_q[:4000].astype(float) ** 2)))
    assert level == pytest.approx(6.0, abs=0.05)
    # a speech longer than the clip is cut at its end
    s_q, _, info = mix_clip(np.full(LENGTH + 500, 0.1), dataclasses.replace(plan, start_fraction=0.7),
                            length=LENGTH, level_db=0.0, sample_rate=SR)
    assert info["speech_start"] == 0 and info["speech_samples"] == LENGTH and s_q.all()


# ----------------------------------------------------------------------------- the cue carries the class

@pytest.mark.parametrize("kind", ["tone", "noise"])
def test_band_cues_put_their_energy_in_the_class_band(corpora, kind):
    bands = class_bands(4)
    for rec in records(corpora[kind]).values():
        cue = read16(corpora[kind] / rec["companions"]["cue"])
        c = rec["class"]
        assert np.allclose(rec["cue"]["band"], bands[c], atol=1e-3)
        assert band_share(cue, *bands[c]) >= 0.9, rec["path"]
        for other in set(range(4)) - {c}:
            assert band_share(cue, *bands[other]) < 0.01
        if kind == "tone":
            assert bands[c][0] < rec["cue"]["frequency"] < bands[c][1]
            assert peak_frequency(cue) == pytest.approx(rec["cue"]["frequency"], abs=5)
            assert rec["cue"]["duration"] == int(0.1 * SR)
        else:
            assert isinstance(rec["cue"]["noise_seed"], int) and rec["cue"]["duration"] == int(0.5 * SR)


def test_click_intervals_match_the_class_rate(corpora):
    for rec in records(corpora["clicks"]).values():
        cue = read16(corpora["clicks"] / rec["companions"]["cue"])
        rate = 5 * 2 ** rec["class"]
        assert rec["cue"]["rate"] == rate
        starts = np.flatnonzero(np.diff(np.r_[0, cue != 0].astype(int)) == 1)
        assert starts[0] == rec["cue"]["onset"]
        assert len(starts) >= 2 and np.all(np.diff(starts) == SR // rate)
        widths = np.flatnonzero(np.diff(np.r_[cue != 0, 0].astype(int)) == -1) - starts + 1
        assert np.all(widths == 2)   # 2-sample pulses at 16 kHz
        assert len(set(cue[cue != 0])) == 1


def test_pair_order_matches_the_class(corpora):
    low, high = class_bands(2)
    for rec in records(corpora["pair"]).values():
        cue = read16(corpora["pair"] / rec["companions"]["cue"]).astype(float)
        c = rec["cue"]
        burst, gap, on = c["burst"], c["gap"], c["onset"]
        assert burst == gap == int(0.1 * SR) and c["duration"] == 3 * burst
        first, second = cue[on:on + burst], cue[on + burst + gap:on + 2 * burst + gap]
        assert not cue[on + burst:on + burst + gap].any()
        f1, f2 = peak_frequency(first), peak_frequency(second)
        if rec["class"] == 0:
            assert low[0] < f1 < low[1] and high[0] < f2 < high[1] and c["order"] == "low-high"
        else:
            assert high[0] < f1 < high[1] and low[0] < f2 < low[1] and c["order"] == "high-low"
        assert f1 == pytest.approx(c["frequencies"][0], abs=5) and f2 == pytest.approx(c["frequencies"][1], abs=5)


# ----------------------------------------------------------------------------- speech, speakers, balance

def test_spoken_digit_is_independent_of_the_class(corpora):
    tone, noise = records(corpora["tone"]), records(corpora["noise"])
    digits_by_class = {}
    for rel, rec in tone.items():
        assert rec["text"] == DIGIT_WORDS[rec["digit"]]
        digits_by_class.setdefault(rec["class"], []).append(rec["digit"])
        # the speech of a slot does not depend on the cue kind either
        assert noise[rel.replace("tone", "noise")]["digit"] == rec["digit"]
    assert len({d for ds in digits_by_class.values() for d in ds}) > 2
    assert len({tuple(ds) for ds in digits_by_class.values()}) > 1


@pytest.mark.parametrize("kind", CUE_KINDS)
def test_labels_balanced_and_clips_exact(corpora, kind):
    root = corpora[kind]
    n_classes = cue_classes(kind, 4)
    table, skips = index_cues(root)
    assert skips == []
    counts = table.groupby(["speaker", "cue"]).size()
    assert len(counts) == 2 * n_classes and (counts == 2).all()
    for rel in wavs(root):
        assert sf.info(str(root / rel)).frames == LENGTH
    speakers = json.loads((root / "speakers.json").read_text())
    assert [speakers[k]["gender"] for k in ("01", "02")] == ["male", "female"]
    assert speakers["01"]["voice"] != speakers["02"]["voice"]


# ----------------------------------------------------------------------------- reuse, resume, force

def test_rerun_reuses_untouched(corpora, capsys):
    root = corpora["tone"]
    before, before_manifest = mtimes(root), os.stat(root / "manifest.json").st_mtime_ns
    assert synthesize_cues(root, kind="tone", **{**KW, "progress": True}) == root
    assert mtimes(root) == before and os.stat(root / "manifest.json").st_mtime_ns == before_manifest
    assert "reusing" in capsys.readouterr().err
    assert EventLog(root).read()[-1]["event"] == "synthesize_reuse"
    # the pair cue has 2 classes whatever ``classes`` says: the same corpus
    synthesize_cues(corpora["pair"], kind="pair", **{**KW, "classes": 3})


def test_other_parameters_refused_then_forced(tmp_path):
    kw = {**KW, "speakers": 1, "clips": 1}
    out = synthesize_cues(tmp_path / "c", kind="tone", **kw)
    before = mtimes(out)
    with pytest.raises(CorpusMismatch, match=r"level_db: 0\.0 \(stored\) != -6\.0") as err:
        synthesize_cues(out, kind="tone", **{**kw, "level_db": -6.0})
    assert str(out) in str(err.value)
    with pytest.raises(CorpusMismatch, match="kind"):
        synthesize_cues(out, kind="noise", **kw)
    assert mtimes(out) == before
    old = records(out)
    synthesize_cues(out, kind="tone", force=True, **{**kw, "level_db": -6.0})
    assert manifest(out)["params"]["level_db"] == -6.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]   # no staging folder left
    new = records(out)
    for rel, rec in new.items():
        assert rec["level_db"] == pytest.approx(-6.0, abs=0.05)
        # the draws come from the seed: the same words, onsets and frequencies
        assert rec["digit"] == old[rel]["digit"]
        assert {k: v for k, v in rec["cue"].items() if k != "amplitude"} == \
               {k: v for k, v in old[rel]["cue"].items() if k != "amplitude"}
    assert EventLog(out).read()[-1]["event"] == "synthesize_swapped"


def test_interrupted_run_is_completed(tmp_path):
    kw = {**KW, "speakers": 1, "clips": 2}
    out = synthesize_cues(tmp_path / "c", kind="noise", **kw)
    m = manifest(out)
    (out / "cues/01/2_01_1.wav").unlink()                  # a clip lost a companion
    (out / "speech/01/3_01_0.wav").write_bytes(b"garbage")  # and one was damaged
    (out / "clips/01/.0_01_0.wav.999.tmp").write_bytes(b"half a file")
    m["complete"] = False
    (out / "manifest.json").write_text(json.dumps(m))
    before = mtimes(out)
    synthesize_cues(out, kind="noise", **kw)
    redone = {"clips/01/2_01_1.wav", "clips/01/3_01_0.wav"}
    after = manifest(out)
    assert after["complete"] is True and len(after["files"]) == 8 and not list(out.rglob("*.tmp"))
    for rec in after["files"]:
        assert rec["kept_from_earlier_run"] == (rec["path"] not in redone)
        if rec["path"] not in redone:
            assert os.stat(out / rec["path"]).st_mtime_ns == before[rec["path"]]
        assert rec["companion_sha256"]["speech"] == sha256_file(out / rec["companions"]["speech"])
    assert [e["event"] for e in EventLog(out).read()][-2:] == ["synthesize_start", "synthesize_done"]


@pytest.mark.parametrize("kwargs, shown", [
    (dict(kind="buzz"), "'buzz'"),
    (dict(classes=1), "1"),
    (dict(classes=11), "11"),
    (dict(clip_seconds=1.5), "1.5"),
    (dict(level_db="loud"), "'loud'"),
    (dict(level_db=float("nan")), "nan"),
    (dict(speakers=61), "61"),
    (dict(clips=0), "0"),
    (dict(band=(3000.0, 300.0)), "(3000.0, 300.0)"),
    (dict(band=(300.0, 5000.0)), "5000.0"),
    (dict(band=300.0), "300.0"),
    (dict(kind="noise", duration=0.95), "0.95"),
    (dict(kind="clicks", duration=0.15), "0.15"),
    (dict(kind="clicks", classes=10), "10"),
    (dict(kind="pair", duration=0.4), "0.4"),
    (dict(duration=0.01), "0.01"),
    (dict(sample_rate=100), "100"),
    (dict(seed=-1), "-1"),
    (dict(progress="yes"), "'yes'"),
])
def test_bad_parameters(tmp_path, kwargs, shown):
    with pytest.raises(ParameterError, match=re.escape(shown)):
        synthesize_cues(tmp_path / "c", **kwargs)
    assert not (tmp_path / "c").exists()


def test_cue_signal_refuses_what_it_cannot_make(corpora):
    cue = next(iter(records(corpora["tone"]).values()))["cue"]
    with pytest.raises(ParameterError, match="8000"):
        cue_signal(cue, sample_rate=8000, length=LENGTH)
    with pytest.raises(ParameterError, match=str(LENGTH)):
        cue_signal({**cue, "onset": LENGTH}, sample_rate=SR, length=LENGTH)
    with pytest.raises(ParameterError, match="frequency"):
        cue_signal({k: v for k, v in cue.items() if k != "frequency"}, sample_rate=SR, length=LENGTH)
    with pytest.raises(ParameterError, match="'hum'"):
        cue_signal({**cue, "kind": "hum"}, sample_rate=SR, length=LENGTH)


# ----------------------------------------------------------------------------- manifest, index, registry

def test_read_cue_manifest_keys_are_the_index_paths(corpora, tmp_path):
    table, _ = index_cues(corpora["clicks"])
    recs = read_cue_manifest(corpora["clicks"])
    assert sorted(recs) == sorted(table["path"])
    for row in table.itertuples():
        rec = recs[row.path]
        assert (rec["class"], f"{rec['speaker']:02d}", rec["rep"]) == (row.cue, row.speaker, row.repetition)
        assert rec["companions"] == companion_paths(row.path)
    with pytest.raises(DataError, match="manifest.json"):
        read_cue_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(DataError, match="manifest.json"):
        read_cue_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "digits", "files": []}))
    with pytest.raises(DataError, match="'digits'"):
        read_cue_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "cues-tone", "files": [], "complete": False}))
    with pytest.raises(DataError, match="incomplete"):
        read_cue_manifest(tmp_path)


def test_index_cues_columns_labels_and_skips(corpora, tmp_path):
    table, skips = index_cues(corpora["tone"])
    assert list(table.columns) == list(BASE_COLUMNS) + ["cue"]
    assert sorted(table["cue"].unique()) == [0, 1, 2, 3] and table["cue"].dtype.kind == "i"
    assert table.loc[table["sample_id"] == "2_01_1", "path"].item() == "clips/01/2_01_1.wav"
    assert dict(zip(table["speaker"], table["sex"])) == {"01": "male", "02": "female"}
    assert skips == []
    same, _ = index_corpus("synthetic-cues-tone", corpora["tone"])
    pd.testing.assert_frame_equal(same, table)

    copy = tmp_path / "copy"
    shutil.copytree(corpora["tone"], copy)
    shutil.copy(copy / "clips/01/0_01_0.wav", copy / "clips/01/tone.wav")      # misnamed
    shutil.copy(copy / "clips/01/0_01_0.wav", copy / "clips/01/0_02_5.wav")    # another speaker's folder
    (copy / "clips/07").mkdir()
    shutil.copy(copy / "clips/01/0_01_0.wav", copy / "clips/07/0_07_0.wav")    # unknown speaker
    table2, skips = index_cues(copy)
    assert len(table2) == len(table)
    reasons = {s.path: s.reason for s in skips}
    assert set(reasons) == {"clips/01/tone.wav", "clips/01/0_02_5.wav", "clips/07/0_07_0.wav"}
    assert "does not match" in reasons["clips/01/tone.wav"] and "speakers.json" in reasons["clips/07/0_07_0.wav"]
    with pytest.raises(DataError, match="clips/"):
        index_cues(tmp_path / "nowhere")
    (copy / "speakers.json").unlink()
    with pytest.raises(DataError, match="speakers.json"):
        index_cues(copy)


def test_registry_labels_and_companions():
    for kind in CUE_KINDS:
        spec = CORPORA[f"synthetic-cues-{kind}"]
        assert (spec.kind, spec.layout) == ("cues", "cues")
    assert LABELS["cues"] == ("cue",)
    assert companion_paths("clips/03/1_03_4.wav") == {"speech": "speech/03/1_03_4.wav", "cue": "cues/03/1_03_4.wav"}
    with pytest.raises(ParameterError, match="speech/03/1_03_4.wav"):
        companion_paths("speech/03/1_03_4.wav")


def test_splits_and_summary_take_the_cue_label(corpora):
    table, skips = index_cues(corpora["tone"])
    assert corpus_summary(table, skips) == {"recordings": 16, "speakers": 2, "sexes": "1 male, 1 female",
                                            "labels": "cue", "skipped": 0}
    six = pd.concat([table.assign(speaker=table["speaker"].replace({"01": s, "02": t}))
                     for s, t in (("01", "02"), ("03", "04"), ("05", "06"))], ignore_index=True)
    folds = speaker_folds(six, label="cue", n_folds=3, seed=0)
    assert len(folds) == 3
    for fold in folds:
        assert sorted(sum(fold.values(), [])) == ["01", "02", "03", "04", "05", "06"]


# ----------------------------------------------------------------------------- command line

def test_cli_synthesizes_with_the_profile(tmp_path, monkeypatch):
    from xaispec.cli import app

    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    profile = tmp_path / "tiny.yaml"
    profile.write_text("synthetic:\n  cues:\n    speakers: 2\n    clips: 1\n    level_db: -3.0\n")
    res = CliRunner().invoke(app, ["data", "synthesize", "cues", "--kind", "tone", "--profile", str(profile)])
    assert res.exit_code == 0, res.output
    corpus = tmp_path / "data/raw/synthetic-cues-tone"
    assert "corpus ready" in res.output and (corpus / "manifest.json").is_file()
    params = manifest(corpus)["params"]
    assert (params["speakers"], params["clips"], params["classes"], params["level_db"]) == (2, 1, 4, -3.0)
    assert (params["clip_seconds"], params["sample_rate"], params["band"]) == (0.9, 16000, [300.0, 3600.0])
    res = CliRunner().invoke(app, ["data", "index", "synthetic-cues-tone"])
    assert res.exit_code == 0 and "8 recordings, 2 speakers, 0 skipped" in res.output
    res = CliRunner().invoke(app, ["data", "synthesize", "cues", "--kind", "buzz"])
    assert res.exit_code == 2 and "'buzz'" in res.output
    res = CliRunner().invoke(app, ["data", "synthesize", "digits", "--kind", "tone"])
    assert res.exit_code == 2 and "cues only" in res.output
