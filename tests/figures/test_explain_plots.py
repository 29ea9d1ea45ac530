"""Figures: files are written atomically as valid PNGs; file names follow the study."""
from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from xaispec import figures as plots
from xaispec.errors import ParameterError


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 8000
    y = np.where((t > 0.25) & (t < 0.75), np.sin(2 * np.pi * 500 * t), 0.0)
    db = np.clip(rng.normal(-60, 10, size=(227, 227)), -80, 0).astype(np.float32)
    db[26:32, 60:170] = -3
    return y, db


def assert_png(path: Path):
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert not any(p.name.endswith(".tmp") for p in path.parent.iterdir())  # no temporary left behind


def test_basic_views_are_written(tmp_path, sample):
    y, db = sample
    fig = plots.waveform(y, 8000, scale=True, path=tmp_path / "a" / "w.png")
    assert_png(tmp_path / "a" / "w.png")
    line = fig.axes[0].lines[0].get_ydata()
    assert line.min() == pytest.approx(-1) and line.max() == pytest.approx(1)
    fig = plots.spectrogram(db, path=tmp_path / "s.png")
    assert_png(tmp_path / "s.png")
    ax = fig.axes[0]
    # time in seconds (frames 2..228, hop 35 at 8 kHz) and frequency in Hz (bin k = k * 8000 / 455)
    assert ax.get_xlim()[1] == pytest.approx(228.5 * 35 / 8000)
    assert ax.get_ylim()[1] == pytest.approx(226.5 * 8000 / 455)
    assert len(fig.axes) == 2  # the colour bar


def test_study_overlays_and_panel(tmp_path, sample):
    y, db = sample
    heat = np.zeros_like(db)
    heat[20:40, 50:180] = 1
    plots.overlay_study_gradcam(db, heat, path=tmp_path / "gradcam.png")
    mask = np.zeros(db.shape, int)
    mask[20:40, 50:180], mask[100:120, 10:40] = 1, -1
    plots.overlay_study_lime(db, mask, path=tmp_path / "lime.png")
    signed = np.random.default_rng(1).normal(size=db.shape)
    fig = plots.explanation_panel(y, db, signed, title="signed", path=tmp_path / "panel.png")
    plots.explanation_panel(None, db, np.abs(signed), path=tmp_path / "panel_seq.png")
    for name in ("gradcam", "lime", "panel", "panel_seq"):
        assert_png(tmp_path / f"{name}.png")
    # signed map: diverging colours centred at 0
    bar = next(a for a in fig.axes if a.get_ylabel() == "attribution")
    lo, hi = bar.get_ylim()
    assert lo == pytest.approx(-hi)
    with pytest.raises(ParameterError):
        plots.explanation_panel(y, db, signed[:10])


def test_shap_plots(tmp_path):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    rng = np.random.default_rng(2)
    values, features = rng.normal(size=(12, 128, 8)), rng.normal(size=(12, 128))
    fig = plots.shap_beeswarm(values, features, class_index=3, max_display=10, path=tmp_path / "bee.png")
    assert any("mel" in t.get_text() for t in fig.axes[0].get_yticklabels())
    plots.shap_bar(values, class_index=3, path=tmp_path / "bar3.png")
    fig = plots.shap_bar(values, path=tmp_path / "bar_all.png")
    for name in ("bee", "bar3", "bar_all"):
        assert_png(tmp_path / f"{name}.png")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 10 and all(label.startswith("mel ") for label in labels)
    assert plt.get_fignums() == open_before  # shap's pyplot figure was closed
    with pytest.raises(ParameterError):
        plots.shap_beeswarm(values, features)  # which class?


def test_figure_paths_follow_the_study(tmp_path):
    assert plots.figure_path(tmp_path, "gradcam", "digit", 0, "01", "male", 7, 12, 7) == (
        tmp_path / "plots/xai/Grad-CAM/label_digit_split_0/01/male_7_01_12_predicted_7.png")
    assert plots.figure_path(tmp_path, "lime", "gender", 3, 12, "female", 0, 49, "male") == (
        tmp_path / "plots/xai/LIME/label_gender_split_3/12/female_0_12_49_predicted_male.png")
    expected = {"gradcam++": "Grad-CAM++", "shap_gradient": "SHAP-Gradient", "shap_partition": "SHAP-Partition",
                "integrated_gradients": "Integrated-Gradients", "smoothgrad": "SmoothGrad", "occlusion": "Occlusion"}
    for method, folder in expected.items():
        path = plots.figure_path("r", method, "digit", 1, "05", "male", 2, 3, 4)
        assert path == Path(f"r/plots/xai/{folder}/label_digit_split_1/05/male_2_05_3_predicted_4.png")
    assert plots.figure_path("r", "Grad-CAM", "digit", 1, "05", "male", 2, 3, 4).parts[3] == "Grad-CAM"
    assert plots.figure_path("r", "waveform", participant="05", sex="male", digit=2, rep=3) == Path(
        "r/plots/waveform/05/male_2_05_3.png")
    assert plots.figure_path("r", "spectrograms", participant=5, sex="female", digit=9, rep=0) == Path(
        "r/plots/spectrograms/05/female_9_05_0.png")
    with pytest.raises(ParameterError, match="Grad-CAM"):
        plots.figure_path("r", "gradcamm", "digit", 1, "05", "male", 2, 3, 4)
    with pytest.raises(ParameterError):
        plots.figure_path("r", "lime", participant="05", sex="male", digit=2, rep=3)  # no label/fold/predicted


def test_method_names_are_the_studys_folder_names():
    assert plots.method_name("shap_gradient") == "SHAP-Gradient" and plots.method_name("gradcam") == "Grad-CAM"
    assert plots.method_name("mine") == "mine"  # not listed: its own name
