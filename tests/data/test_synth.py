"""Synthetic corpora spoken by espeak-ng: layout, audio, meta data, manifest, reuse/resume/force."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from conftest import manifest, mtimes, wavs
from xaispec._io import sha256_file
from xaispec.errors import CorpusMismatch, DataError, ParameterError
from xaispec.events import EventLog
from xaispec.data import synth
from xaispec.data.synth import (
    DIGIT_WORDS,
    EMOTIONS,
    FEMALE_PARTICIPANTS,
    audiomnist_meta,
    emotion_prosody,
    participant_gender,
    speak,
    synthesize_digits,
    synthesize_emotions,
)

SR = 16000  # a low output rate keeps the tests fast; the default 48 kHz is checked once
DIGIT_IDS = [1, 2, 3, 12]
DIGIT_KW = dict(participant_ids=DIGIT_IDS, repetitions=2, sample_rate=SR, seed=0, progress=False)
EMOTION_KW = dict(actors=2, repetitions=1, sample_rate=SR, seed=0, progress=False)


# ----------------------------------------------------------------------------- helpers

def f0_median(y: np.ndarray, sr: int) -> float:
    """Median autocorrelation pitch (Hz) of the loud, periodic 40 ms frames."""
    frame = int(0.04 * sr)
    level = np.sqrt(np.mean(y ** 2))
    lo, hi = int(sr / 400), int(sr / 60)
    out = []
    for start in range(0, len(y) - frame, frame // 2):
        x = y[start:start + frame] - y[start:start + frame].mean()
        if np.sqrt(np.mean(x ** 2)) < level:
            continue
        ac = np.correlate(x, x, "full")[frame - 1:]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5 * ac[0]:
            out.append(sr / lag)
    return float(np.median(out)) if out else float("nan")


def silent_edges(y: np.ndarray, sr: int, *, top_db: float = 35.0) -> tuple[float, float]:
    """Seconds of leading and trailing silence: 10 ms frames more than ``top_db`` below the loudest."""
    frame = sr // 100
    n = len(y) // frame
    level = np.sqrt(np.mean(y[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(level > level.max() * 10 ** (-top_db / 20))
    return loud[0] * frame / sr, (n - 1 - loud[-1]) * frame / sr


def rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(y, dtype=np.float64) ** 2)))


def expected_digit_files(ids, repetitions):
    return sorted(f"data/{p:02d}/{d}_{p:02d}_{r}.wav" for p in ids for d in range(10) for r in range(repetitions))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A small digit corpus built once; tests that modify a corpus build their own."""
    return synthesize_digits(tmp_path_factory.mktemp("digits") / "corpus", **DIGIT_KW)


@pytest.fixture(scope="module")
def emotions(tmp_path_factory):
    return synthesize_emotions(tmp_path_factory.mktemp("emotions") / "corpus", **EMOTION_KW)


# ----------------------------------------------------------------------------- constants, meta

def test_constants():
    assert DIGIT_WORDS == ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    assert EMOTIONS == {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                        "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
    assert FEMALE_PARTICIPANTS == frozenset({12, 26, 28, 36, 43, 47, 52, 56, 57, 58, 59, 60})


def test_audiomnist_meta_matches_audiomnist_genders_and_fields():
    meta = audiomnist_meta(60, seed=0)
    assert list(meta) == [f"{p:02d}" for p in range(1, 61)]
    fields = {"accent", "age", "gender", "native speaker", "origin", "recordingdate", "recordingroom"}
    for key, entry in meta.items():
        assert set(entry) == fields
        assert entry["gender"] == ("female" if int(key) in FEMALE_PARTICIPANTS else "male")
        assert entry["gender"] == participant_gender(int(key))
        assert isinstance(entry["age"], str) and 18 <= int(entry["age"]) <= 80
        assert entry["native speaker"] in ("yes", "no")
        assert entry["recordingroom"] == "synthetic"
        assert re.fullmatch(r"\d\d-\d\d-\d\d-\d\d-\d\d-\d\d", entry["recordingdate"])
    assert sum(e["gender"] == "female" for e in meta.values()) == 12
    # deterministic, and a subset describes the same speakers
    assert audiomnist_meta(60, seed=0) == meta
    assert audiomnist_meta(60, seed=0, participant_ids=[12, 3]) == {"03": meta["03"], "12": meta["12"]}
    # another seed gives other speakers, same genders
    other = audiomnist_meta(60, seed=1)
    assert other != meta
    assert [e["gender"] for e in other.values()] == [e["gender"] for e in meta.values()]


@pytest.mark.parametrize("bad", [0, 61, -3, 2.0, True, "5"])
def test_participant_gender_rejects_bad_ids(bad):
    with pytest.raises(ParameterError, match=re.escape(repr(bad))):
        participant_gender(bad)


def test_emotion_prosody_strong_exaggerates():
    normal, strong = emotion_prosody("angry"), emotion_prosody("05", "02")
    assert strong["rate_factor"] > normal["rate_factor"] > 1
    assert strong["volume_offset"] > normal["volume_offset"] > 0
    sad = emotion_prosody("sad", "02")
    assert sad["rate_factor"] < 1 and sad["pitch_offset"] < 0 and sad["range_offset"] < 0
    with pytest.raises(ParameterError, match="'02'"):
        emotion_prosody("neutral", "02")
    with pytest.raises(ParameterError, match="'bored'"):
        emotion_prosody("bored")


# ----------------------------------------------------------------------------- speak

def test_speak_returns_plausible_audio():
    y, sr = speak("seven", voice="en-us+m3")
    assert sr == 22050
    assert y.dtype == np.float32 and y.ndim == 1
    assert np.abs(y).max() <= 1.0 and rms(y) > 0.01
    assert 0.2 < len(y) / sr < 1.5


def test_speak_parameters_change_the_voice():
    slow, sr = speak("Dogs are sitting by the door", voice="en-us+m3", rate=120)
    fast, _ = speak("Dogs are sitting by the door", voice="en-us+m3", rate=300)
    assert len(fast) < 0.7 * len(slow)
    low, _ = speak("nine", voice="en-us+m3", pitch=10)
    high, _ = speak("nine", voice="en-us+m3", pitch=90)
    assert f0_median(high, sr) > 1.3 * f0_median(low, sr)
    male, _ = speak("nine", voice="en-us+m3")
    female, _ = speak("nine", voice="en-us+f3")
    assert f0_median(female, sr) > 1.4 * f0_median(male, sr)
    quiet, _ = speak("nine", voice="en-us+m3", volume=30)
    loud, _ = speak("nine", voice="en-us+m3", volume=150)
    assert rms(loud) > 2 * rms(quiet)


@pytest.mark.parametrize("kwargs, shown", [
    (dict(voice="xx-nosuchlanguage"), "xx-nosuchlanguage"),
    (dict(voice="en+nosuchvariant"), "nosuchvariant"),
    (dict(voice=""), "''"),
    (dict(rate=10), "10"),
    (dict(rate=1000), "1000"),
    (dict(pitch=101), "101"),
    (dict(pitch_range=-1), "-1"),
    (dict(volume=250), "250"),
    (dict(volume="loud"), "loud"),
])
def test_speak_rejects_bad_parameters(kwargs, shown):
    with pytest.raises(ParameterError, match=re.escape(shown)):
        speak("one", **kwargs)


def test_speak_rejects_empty_text():
    with pytest.raises(ParameterError, match="text"):
        speak("   ")


def test_import_does_nothing():
    code = ("import sys, xaispec.data.synth, xaispec.data.synth.espeak as s; "
            "assert s._ENGINE is None; assert 'soxr' not in sys.modules and 'tqdm' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- digits corpus

def test_digits_layout_audio_and_meta(digits):
    assert wavs(digits) == expected_digit_files(DIGIT_IDS, 2)
    meta = json.loads((digits / "data" / "audioMNIST_meta.txt").read_text())
    assert list(meta) == ["01", "02", "03", "12"]
    assert [meta[k]["gender"] for k in meta] == ["male", "male", "male", "female"]
    for rel in wavs(digits):
        y, sr = sf.read(digits / rel)
        info = sf.info(str(digits / rel))
        assert (sr, info.channels, info.subtype) == (SR, 1, "PCM_16")
        assert 0.15 < len(y) / sr < 1.2, rel
        assert rms(y) > 0.005 and np.abs(y).max() < 1.0, rel
        # trimmed: speech starts and ends within a short margin
        lead, trail = silent_edges(y, sr)
        assert lead < 0.15 and trail < 0.15, (rel, lead, trail)


def test_digits_manifest_records_parameters_and_hashes(digits):
    m = manifest(digits)
    assert m["kind"] == "digits" and m["complete"] is True
    assert m["params"]["sample_rate"] == SR and m["params"]["participant_ids"] == DIGIT_IDS
    assert m["params"]["repetitions"] == 2 and m["params"]["seed"] == 0
    assert m["espeak"]["sample_rate"] == 22050 and m["espeak"]["version"]
    assert m["sample_rate"] == SR
    assert sorted(f["path"] for f in m["files"]) == wavs(digits)
    for f in m["files"]:
        assert f["sha256"] == sha256_file(digits / f["path"])
        for key in ("voice", "rate", "pitch", "range", "volume", "amplitude", "noise_std", "noise_seed", "text"):
            assert key in f, key
        d, p, r = map(int, re.fullmatch(r"data/\d\d/(\d)_(\d\d)_(\d)\.wav", f["path"]).groups())
        assert f["text"] == DIGIT_WORDS[d]
        assert f["noise_seed"][:4] == [0, p, d, r]
        assert f["voice"] == m["speakers"][f"{p:02d}"]["voice"]
    assert m["speakers"]["12"]["gender"] == "female" and m["speakers"]["01"]["gender"] == "male"
    assert m["speakers"]["12"]["variant"] in synth.FEMALE_VARIANTS
    assert m["speakers"]["01"]["variant"] in synth.MALE_VARIANTS
    events = [e["event"] for e in EventLog(digits).read()]
    assert events[:1] == ["synthesize_start"] and events[-1] == "synthesize_done"


def test_digits_speakers_have_distinct_voices(digits):
    m = manifest(digits)
    voices = {(s["voice"], s["pitch"], s["pitch_range"], s["rate"]) for s in m["speakers"].values()}
    assert len(voices) == len(DIGIT_IDS)
    feats, who, pitch = [], [], {}
    for f in m["files"]:
        y, sr = sf.read(digits / f["path"])
        feats.append(np.log(scipy.signal.welch(y, sr, nperseg=512)[1] + 1e-10))
        who.append(f["labels"]["participant"])
        pitch.setdefault(f["labels"]["participant"], []).append(f0_median(y, sr))
    # the female participant speaks clearly higher than the males
    assert np.nanmedian(pitch[12]) > 1.4 * max(np.nanmedian(pitch[p]) for p in (1, 2, 3))
    # speakers are recognisable from their average spectrum (leave-one-out nearest centroid)
    feats, who = np.array(feats), np.array(who)
    hits = 0
    for i in range(len(feats)):
        rest = np.arange(len(feats)) != i
        centroids = {p: feats[rest & (who == p)].mean(0) for p in DIGIT_IDS}
        hits += min(centroids, key=lambda p: np.linalg.norm(feats[i] - centroids[p])) == who[i]
    assert hits / len(feats) > 0.6  # chance is 0.25


def test_digits_default_rate_and_take_parameters_are_reproducible(tmp_path):
    a = synthesize_digits(tmp_path / "a", participant_ids=[5], repetitions=1, progress=False)
    b = synthesize_digits(tmp_path / "b", participant_ids=[5], repetitions=1, progress=False)
    for rel in wavs(a):
        assert sf.info(str(a / rel)).samplerate == 48000
    strip = lambda m: [{k: v for k, v in f.items() if k not in ("sha256", "seconds")} for f in m["files"]]
    assert strip(manifest(a)) == strip(manifest(b))
    assert manifest(a)["speakers"] == manifest(b)["speakers"]
    c = synthesize_digits(tmp_path / "c", participant_ids=[5], repetitions=1, seed=7, progress=False)
    assert manifest(c)["speakers"] != manifest(a)["speakers"]


def test_digits_rerun_reuses_untouched(tmp_path, capsys):
    out = synthesize_digits(tmp_path / "c", participant_ids=[1], repetitions=1, sample_rate=SR, progress=False)
    before = mtimes(out)
    before_manifest = os.stat(out / "manifest.json").st_mtime_ns
    again = synthesize_digits(out, participant_ids=[1], repetitions=1, sample_rate=SR, progress=True)
    assert again == out
    assert mtimes(out) == before
    assert os.stat(out / "manifest.json").st_mtime_ns == before_manifest
    assert "reusing" in capsys.readouterr().err
    assert EventLog(out).read()[-1]["event"] == "synthesize_reuse"


def test_digits_killed_run_is_completed(tmp_path):
    kw = dict(participant_ids=[1, 12], repetitions=1, sample_rate=SR, progress=False)
    out = synthesize_digits(tmp_path / "c", **kw)
    (out / "manifest.json").unlink()
    lost = out / "data" / "12" / "7_12_0.wav"
    lost.unlink()
    (out / "data" / "12" / ".3_12_0.wav.999.tmp").write_bytes(b"half a file")  # left by a killed writer
    kept = {p: t for p, t in mtimes(out).items()}
    synthesize_digits(out, **kw)
    assert lost.exists() and wavs(out) == expected_digit_files([1, 12], 1)
    assert not list(out.rglob("*.tmp"))
    assert {p: t for p, t in mtimes(out).items() if p in kept} == kept  # existing files kept
    m = manifest(out)
    assert m["complete"] is True and len(m["files"]) == 20
    for f in m["files"]:
        assert f["sha256"] == sha256_file(out / f["path"])
        assert f["kept_from_earlier_run"] == (f["path"] != "data/12/7_12_0.wav")
    assert [e["event"] for e in EventLog(out).read()][-2:] == ["synthesize_start", "synthesize_done"]


def test_digits_incomplete_manifest_is_not_reused(tmp_path):
    kw = dict(participant_ids=[2], repetitions=1, sample_rate=SR, progress=False)
    out = synthesize_digits(tmp_path / "c", **kw)
    m = manifest(out)
    (out / "data" / "02" / "0_02_0.wav").unlink()  # manifest says complete, a file is gone
    synthesize_digits(out, **kw)
    assert (out / "data" / "02" / "0_02_0.wav").exists()
    assert manifest(out)["complete"] is True and len(manifest(out)["files"]) == len(m["files"])


def test_digits_other_parameters_refused_then_forced(tmp_path):
    kw = dict(participant_ids=[3], repetitions=1, progress=False)
    out = synthesize_digits(tmp_path / "c", sample_rate=SR, **kw)
    before = mtimes(out)
    with pytest.raises(CorpusMismatch, match=r"sample_rate") as err:  # a ParameterError callers can tell apart
        synthesize_digits(out, sample_rate=8000, **kw)
    assert str(out) in str(err.value)
    assert mtimes(out) == before  # nothing touched
    with pytest.raises(ParameterError, match=r"seed"):
        synthesize_digits(out, sample_rate=SR, seed=1, **kw)
    with pytest.raises(ParameterError, match=r"kind"):
        synthesize_emotions(out, **EMOTION_KW)

    synthesize_digits(out, sample_rate=8000, force=True, **kw)
    assert manifest(out)["params"]["sample_rate"] == 8000
    assert all(sf.info(str(out / p)).samplerate == 8000 for p in wavs(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # no staging folder left
    events = [e["event"] for e in EventLog(out).read()]
    assert events[0] == "synthesize_start" and "synthesize_rebuild" in events  # history kept
    assert events[-1] == "synthesize_swapped"


def test_digits_files_without_manifest_at_other_rate_are_refused(tmp_path):
    out = synthesize_digits(tmp_path / "c", participant_ids=[4], repetitions=1, sample_rate=SR, progress=False)
    (out / "manifest.json").unlink()
    with pytest.raises(CorpusMismatch, match="8000"):
        synthesize_digits(out, participant_ids=[4], repetitions=1, sample_rate=8000, progress=False)


def test_unreadable_manifest_is_an_error(tmp_path):
    out = tmp_path / "c"
    out.mkdir()
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="manifest.json"):
        synthesize_digits(out, participant_ids=[4], repetitions=1, sample_rate=SR, progress=False)


@pytest.mark.parametrize("kwargs, shown", [
    (dict(participants=0), "0"),
    (dict(participants=61), "61"),
    (dict(repetitions=0), "0"),
    (dict(sample_rate=100), "100"),
    (dict(seed=-1), "-1"),
    (dict(participant_ids=[0]), "0"),
    (dict(participants=10, participant_ids=[11]), "11"),
    (dict(participant_ids=[1, 1]), "[1, 1]"),
    (dict(progress="yes"), "yes"),
])
def test_digits_bad_parameters(tmp_path, kwargs, shown):
    with pytest.raises(ParameterError, match=re.escape(shown)):
        synthesize_digits(tmp_path / "c", **kwargs)
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------------------- emotions corpus

def test_emotions_layout_and_audio(emotions):
    files = wavs(emotions)
    assert len(files) == 2 * 30 * 1
    pattern = re.compile(r"Actor_(\d\d)/03-01-(0[1-8])-(0[12])-(0[12])-(\d\d)-(\d\d)\.wav")
    for rel in files:
        match = pattern.fullmatch(rel)
        assert match, rel
        actor_dir, emotion, intensity, _, rep, actor = match.groups()
        assert actor_dir == actor and rep == "01"
        assert not (emotion == "01" and intensity == "02")
        y, sr = sf.read(emotions / rel)
        assert sr == SR and y.ndim == 1 and rms(y) > 0.005
        assert 0.6 < len(y) / sr < 5.0, rel
    m = manifest(emotions)
    assert m["kind"] == "emotions" and m["complete"] is True and m["params"]["actors"] == 2
    assert m["speakers"]["01"]["gender"] == "male" and m["speakers"]["02"]["gender"] == "female"
    for f in m["files"]:
        assert f["sha256"] == sha256_file(emotions / f["path"])
        assert f["text"].rstrip(".!?") in synth.STATEMENTS.values()


def test_emotions_differ_in_prosody(emotions):
    m = manifest(emotions)
    by = {}
    for f in m["files"]:
        lab = f["labels"]
        y, sr = sf.read(emotions / f["path"])
        by[(lab["actor"], lab["statement"], lab["emotion"], lab["intensity"])] = (len(y) / sr, rms(y), f0_median(y, sr))
    for actor in (1, 2):
        for st in ("01", "02"):
            angry, sad = by[(actor, st, "angry", "02")], by[(actor, st, "sad", "02")]
            assert angry[1] > 1.5 * sad[1], (actor, st)    # louder
            assert angry[0] < 0.8 * sad[0], (actor, st)    # faster
            assert by[(actor, st, "sad", "02")][0] > by[(actor, st, "neutral", "01")][0]
            assert by[(actor, st, "surprised", "02")][2] > by[(actor, st, "sad", "02")][2]  # higher pitch
    # the female actor speaks higher than the male one
    assert by[(2, "01", "neutral", "01")][2] > 1.3 * by[(1, "01", "neutral", "01")][2]


def test_emotions_rerun_reuses(emotions):
    before = mtimes(emotions)
    synthesize_emotions(emotions, **EMOTION_KW)
    assert mtimes(emotions) == before
    with pytest.raises(ParameterError, match="repetitions"):
        synthesize_emotions(emotions, **{**EMOTION_KW, "repetitions": 2})


@pytest.mark.parametrize("actors", [0, 1, 3, 25, 100, "4"])
def test_emotions_bad_actors(tmp_path, actors):
    with pytest.raises(ParameterError, match=re.escape(repr(actors))):
        synthesize_emotions(tmp_path / "c", actors=actors, progress=False)
