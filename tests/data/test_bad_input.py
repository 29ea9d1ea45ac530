"""Every kind of bad input: one clear line naming the file, the rest still processed,
a skipped-files report, exit code 3 unless --allow-skips, nothing finished lost."""
from __future__ import annotations

import contextlib
import json
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import audiomnist_like, fsdd_like, tone, write_wav
from xaispec.audio.reading import read_audio
from xaispec.cli import app
from xaispec.data.corpora import index_corpus
from xaispec.data.prepare import prepare
from xaispec.data.store import Store
from xaispec.errors import DataError


@pytest.fixture()
def corpus(tmp_path):
    return fsdd_like(tmp_path / "fsdd")


def bad_files(root):
    rec = root / "recordings"
    good = (rec / "0_anna_0.wav").read_bytes()
    (rec / "1_anna_5.wav").write_bytes(good[: len(good) // 2])             # truncated
    (rec / "1_anna_6.wav").write_text("this is not audio\n")               # non-audio named .wav
    (rec / "1_anna_7.wav").write_bytes(b"")                               # empty file
    sf.write(rec / "1_anna_8.wav", np.zeros((0,), np.float32), 8000)        # zero-length audio
    nan = tone(0.3, 8000)
    nan[100] = np.nan
    sf.write(rec / "1_anna_9.wav", nan, 8000, subtype="FLOAT")              # NaN sample
    inf = tone(0.3, 8000)
    inf[50] = np.inf
    sf.write(rec / "2_anna_9.wav", inf, 8000, subtype="FLOAT")              # Inf sample
    (rec / "hello_world.wav").write_bytes(good)                             # name off the pattern
    (rec / "1_zoe_0.wav").write_bytes(good)                                 # speaker not in metadata
    return {"1_anna_5.wav": "truncated", "1_anna_6.wav": "not a readable audio file",
            "1_anna_7.wav": "empty file", "1_anna_8.wav": "zero-length", "1_anna_9.wav": "NaN or infinite",
            "2_anna_9.wav": "NaN or infinite", "hello_world.wav": "does not match",
            "1_zoe_0.wav": "missing from the speaker metadata"}


def test_read_audio_names_file_and_problem(corpus):
    expected = bad_files(corpus)
    for name, words in expected.items():
        if name in ("hello_world.wav", "1_zoe_0.wav"):
            continue
        with pytest.raises(DataError) as err:
            read_audio(corpus / "recordings" / name)
        msg = str(err.value)
        assert name in msg and words in msg and "\n" not in msg


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="nope.wav: file not found"):
        read_audio(tmp_path / "nope.wav")


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000])
def test_any_sample_rate_gives_the_same_shape(tmp_path, sr):
    path = write_wav(tmp_path / "recordings" / "3_anna_0.wav", tone(0.6, sr), sr)
    (tmp_path / "speakers.json").write_text(json.dumps({"anna": {"gender": "female"}}))
    res = prepare("fsdd", tmp_path, out_dir=tmp_path / "out", workers=1, progress=False)
    s = Store(res.store)
    assert s.shape == (1, 227, 227) and s.index.loc[0, "sample_rate"] == sr
    assert s.index.loc[0, "duration"] == pytest.approx(0.6, abs=1e-3)
    assert path.exists()


def test_stereo_is_mixed_down_and_recorded(tmp_path):
    left, right = tone(0.5, 16000, freq=300), tone(0.5, 16000, freq=500, seed=3)
    write_wav(tmp_path / "recordings" / "4_anna_0.wav", np.stack([left, right], axis=1), 16000)
    audio = read_audio(tmp_path / "recordings" / "4_anna_0.wav")
    assert audio.channels == 2
    mono = (left.astype(np.float64) * 32768).round() / 32768  # PCM_16 round trip
    right16 = (right.astype(np.float64) * 32768).round() / 32768
    np.testing.assert_allclose(audio.samples / 32768, (mono + right16) / 2, atol=1e-4)
    res = prepare("fsdd", tmp_path, out_dir=tmp_path / "out", workers=1, progress=False)
    assert Store(res.store).index.loc[0, "channels"] == 2


def test_bad_files_skipped_others_processed_and_reported(corpus, tmp_path):
    expected = bad_files(corpus)
    res = prepare("fsdd", corpus, out_dir=tmp_path / "out", workers=2, chunk_size=4, progress=False)
    assert res.n_samples == 18  # 3 speakers x 3 digits x 2 takes, all good ones
    skipped = {s.path.split("/")[-1]: s.reason for s in res.skipped}
    assert set(skipped) == set(expected)
    for name, words in expected.items():
        assert words in skipped[name], (name, skipped[name])
    report = pd.read_csv(res.report)
    assert sorted(report["path"].str.split("/").str[-1]) == sorted(expected)
    assert set(report["stage"]) == {"index", "prepare"}
    events = [json.loads(line)["event"] for line in (tmp_path / "out" / "events.log").read_text().splitlines()]
    assert events.count("skipped") == len(expected) and events[-1] == "prepare_done"


def test_cli_exit_code_says_files_were_skipped(corpus, tmp_path, monkeypatch):
    bad_files(corpus)
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    runner = CliRunner()
    res = runner.invoke(app, ["data", "prepare", "fsdd", "--source", str(corpus), "--workers", "1"])
    assert res.exit_code == 3, res.output
    assert "skipped: recordings/1_anna_7.wav: empty file (0 bytes)" in res.output
    assert "8 file(s) skipped" in res.output
    assert (tmp_path / "data/processed/fsdd/alexnet.h5").is_file()
    ok = runner.invoke(app, ["data", "prepare", "fsdd", "--source", str(corpus), "--allow-skips"])
    assert ok.exit_code == 0, ok.output
    assert "up to date" in ok.output


def test_audiomnist_meta_and_duplicates(tmp_path):
    root = audiomnist_like(tmp_path / "am", participants=(1, 2), digits=(0,), reps=(0, 1))
    # participant 03 has recordings but no meta entry
    write_wav(root / "data/03/0_03_0.wav", tone(0.4, 48000), 48000)
    # "0_01_01.wav" names the same sample as "0_01_1.wav"
    (root / "data/01/0_01_01.wav").write_bytes((root / "data/01/0_01_1.wav").read_bytes())
    # a file in the wrong participant folder
    (root / "data/02/0_01_7.wav").write_bytes((root / "data/01/0_01_1.wav").read_bytes())
    table, skips = index_corpus("audiomnist", root)
    reasons = {s.path: s.reason for s in skips}
    assert "participant 03 is missing from audioMNIST_meta.txt" in reasons["data/03/0_03_0.wav"]
    assert reasons["data/01/0_01_1.wav"].startswith("duplicate sample id '0_01_1'")
    assert "folder '02'" in reasons["data/02/0_01_7.wav"]
    assert sorted(table["sample_id"]) == ["0_01_0", "0_01_1", "0_02_0", "0_02_1"]


def test_meta_quirks(tmp_path):
    from xaispec.data.corpora import read_audiomnist_meta

    meta = {"01": {"age": 30, "gender": "male", "recordingroom": "Kino"},
            "02": {"age": "1234", "gender": "Female ", "recordingroom": "kino "},
            "03": {"age": "25", "gender": "male", "recordingroom": "Vortragsraum"}}
    path = tmp_path / "audioMNIST_meta.txt"
    path.write_text(json.dumps(meta))
    table = read_audiomnist_meta(path)
    assert table["age"].tolist()[0] == 30 and np.isnan(table["age"].tolist()[1])
    assert table["sex"].tolist() == ["male", "female", "male"]
    assert table["room"].tolist()[:2] == ["kino", "kino"]
    path.write_text("{not json")
    with pytest.raises(DataError, match="audioMNIST_meta.txt: not valid JSON"):
        read_audiomnist_meta(path)


def test_failed_rerun_keeps_finished_store(corpus, tmp_path):
    res = prepare("fsdd", corpus, out_dir=tmp_path / "out", workers=1, progress=False)
    before = res.store.read_bytes()
    for wav in (corpus / "recordings").glob("*.wav"):
        wav.write_bytes(b"")  # every file now broken
    with pytest.raises(DataError, match="every recording was skipped"):
        prepare("fsdd", corpus, out_dir=tmp_path / "out", workers=1, force=True, progress=False)
    assert res.store.read_bytes() == before


def test_unknown_names_list_valid_values(tmp_path):
    from xaispec.errors import ParameterError

    with pytest.raises(ParameterError, match="unknown corpus 'audiomnest'.*audiomnist"):
        prepare("audiomnest", tmp_path, out_dir=tmp_path)
    with pytest.raises(ParameterError, match="representation='mfcc'.*alexnet"):
        prepare("fsdd", tmp_path, out_dir=tmp_path, representation="mfcc")
    with pytest.raises(DataError, match="corpus folder of 'fsdd' not found.*xaispec data download fsdd"):
        prepare("fsdd", tmp_path / "missing", out_dir=tmp_path)


def test_manifest_corpus(tmp_path):
    for i, spk in enumerate(["s1", "s1", "s2", "s3"]):
        write_wav(tmp_path / "clips" / f"c{i}.wav", tone(0.5, 16000, seed=i), 16000)
    pd.DataFrame({"path": [f"clips/c{i}.wav" for i in range(4)] + ["clips/missing.wav"],
                  "speaker": ["s1", "s1", "s2", "s3", "s3"], "sex": ["f", "f", "m", "m", "m"],
                  "word": ["yes", "no", "yes", "no", "yes"]}).to_csv(tmp_path / "mine.csv", index=False)
    table, skips = index_corpus(str(tmp_path / "mine.csv"), tmp_path / "mine.csv")
    assert table["word"].tolist() == ["yes", "no", "yes", "no"] and table["sex"].tolist()[0] == "female"
    assert [s.path for s in skips] == ["clips/missing.wav"]
    res = prepare(str(tmp_path / "mine.csv"), tmp_path / "mine.csv", out_dir=tmp_path / "out",
                  workers=1, progress=False)
    assert res.n_samples == 4 and len(res.skipped) == 1


def test_a_manifest_whose_labels_change_prepares_its_store_again(tmp_path):
    """Training reads its targets from the store's index: a relabelled manifest (same files, same
    ids) must not reuse the store holding the old labels."""
    for i in range(3):
        write_wav(tmp_path / "clips" / f"c{i}.wav", tone(0.5, 16000, seed=i), 16000)
    manifest = tmp_path / "mine.csv"
    table = pd.DataFrame({"path": [f"clips/c{i}.wav" for i in range(3)], "speaker": ["s1", "s2", "s3"],
                          "sex": ["f", "m", "m"], "word": ["yes", "no", "yes"]})
    table.to_csv(manifest, index=False)
    first = prepare(str(manifest), manifest, out_dir=tmp_path / "out", workers=1, progress=False)
    assert prepare(str(manifest), manifest, out_dir=tmp_path / "out", workers=1, progress=False).reused
    table.assign(word=["no", "no", "yes"]).to_csv(manifest, index=False)
    again = prepare(str(manifest), manifest, out_dir=tmp_path / "out", workers=1, progress=False)
    assert not again.reused and again.store == first.store
    assert Store(again.store).index["word"].tolist() == ["no", "no", "yes"]


# ---------------------------------------------------------------- a full disk, a read-only folder

@contextlib.contextmanager
def mounted(target, *options):
    """``mount`` at ``target`` for the block (tests run as root here: a tmpfs or a read-only bind mount
    is a real full disk or a real read-only folder, which chmod is not for root)."""
    target.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", *options, str(target)], capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"cannot mount ({res.stderr.strip()}): needs root")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True)


def test_a_full_disk_stops_prepare_naming_the_path_and_the_rerun_resumes_to_the_same_store(corpus, tmp_path):
    """18 spectrograms (3.7 MB) into a 2 MB disk: a one-line error naming the parts folder, no store under
    its final name; with room made, the rerun resumes from the finished chunks to the clean run's bytes."""
    options = dict(workers=1, chunk_size=4, progress=False)
    clean = prepare("fsdd", corpus, out_dir=tmp_path / "clean", **options).store.read_bytes()
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=2m", "tmpfs") as disk:
        with pytest.raises(DataError) as err:
            prepare("fsdd", corpus, out_dir=disk / "fsdd", **options)
        assert re.fullmatch(rf"{disk}/fsdd/\.alexnet\.parts-\w+: cannot write the parts of alexnet\.h5: No space "
                            r"left on device \(the finished chunks are kept: the next run resumes from them\)",
                            str(err.value)), str(err.value)
        assert not (disk / "fsdd/alexnet.h5").exists()
        subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
        again = prepare("fsdd", corpus, out_dir=disk / "fsdd", **options)
        starts = [json.loads(line) for line in (disk / "fsdd/events.log").read_text().splitlines()
                  if '"prepare_start"' in line]
        assert starts[0]["resumed_chunks"] == 0 and starts[-1]["resumed_chunks"] >= 1
        assert again.store.read_bytes() == clean


def test_a_read_only_folder_is_named_in_one_line(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path / "root"))
    (tmp_path / "empty").mkdir()
    target = tmp_path / "root/data/processed"
    with mounted(target, "--bind", str(tmp_path / "empty")):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        res = CliRunner().invoke(app, ["data", "prepare", "fsdd", "--source", str(corpus), "--workers", "1"])
        assert res.exit_code == 1, res.output
        assert res.output.strip().splitlines()[-1] == f"xaispec: error: {target}/fsdd: cannot write: Read-only file system"
    assert not any((tmp_path / "empty").iterdir())
