"""Reading audio: 16-bit PCM WAV files are read without a decoder, and must give exactly
what libsndfile gives; the header-only probe must describe files as a full read does."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf

from xaispec.audio.reading import probe_audio, read_audio
from xaispec.errors import DataError


def libsndfile_mono(path):
    data, sr = sf.read(path, dtype="float64", always_2d=True)
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    return (mono * 32768.0).astype(np.float32), sr, data.shape[1]


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("WAVEX", "PCM_16"), ("WAV", "PCM_24"),
                                         ("WAV", "PCM_U8"), ("WAV", "FLOAT"), ("W64", "PCM_16"),
                                         ("FLAC", "PCM_16")])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_read_and_probe_agree_with_libsndfile(tmp_path, fmt, subtype, channels):
    rng = np.random.default_rng(channels)
    x = rng.uniform(-1, 1, size=(4097, channels))
    path = tmp_path / f"clip.{fmt.lower()}"
    sf.write(path, x, 22050, format=fmt, subtype=subtype)
    samples, sr, ch = libsndfile_mono(path)
    audio, info = read_audio(path), probe_audio(path)
    assert audio.samples.dtype == np.float32
    np.testing.assert_array_equal(audio.samples, samples)
    assert (audio.sr, audio.channels) == (info.sr, info.channels) == (sr, ch)
    assert info.frames == len(samples) and info.duration == pytest.approx(4097 / 22050)
    assert audio.sha256 == info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_audio(path, checksum=False).sha256 == ""


def test_real_speech_reads_as_libsndfile_does(fsdd):
    for path in sorted((fsdd / "recordings").glob("*.wav"))[::150]:
        samples, sr, _ = libsndfile_mono(path)
        np.testing.assert_array_equal(read_audio(path).samples, samples)
        assert probe_audio(path).frames == len(samples)


def test_probe_refuses_what_read_refuses(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, np.zeros(800, np.float32) + 0.1, 8000, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[:-300])
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 8000, subtype="PCM_16")
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.0, np.nan, 0.0], np.float32), 8000, subtype="FLOAT")
    for path, words in ((cut, "truncated WAV"), (empty, "zero-length audio"), (nan, "NaN or infinite")):
        for fn in (read_audio, probe_audio):
            with pytest.raises(DataError, match=words) as err:
                fn(path)
            assert str(path) in str(err.value)
