"""The figures and sounds of an explain run: what is drawn for a sample, a method and a feature model.

Per sample, its waveform (and the clip as WAV) and spectrogram image
(:func:`sample_figures`); per sample and method, the study's overlay (Grad-CAM: "jet" at
alpha 0.4; LIME: region boundaries; other methods: their positive evidence drawn the
Grad-CAM way), the better panel (waveform above, time in s, frequency in Hz, colour bars,
diverging colours for signed maps) and the audible explanation (the top ``top_percent`` %
cells with their original phase) (:func:`method_figures`); for the emotion 1D CNN, SHAP
summary and bar plots per class (:func:`feature_plots`). The file names are
:func:`xaispec.study.results.sample_paths` and :func:`~xaispec.study.results.method_paths`;
the drawing is :mod:`xaispec.figures`.

Mel images (the 2D emotion CNN) are drawn with :data:`xaispec.data.signals.MEL_GEOMETRY`
and their frequency axis is the mel band index.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.signals import MEL_GEOMETRY
from ..models.runs import Run, ModelSpec
from .results import method_paths, sample_paths


def _relabel_mel(fig) -> None:
    for ax in fig.axes:
        if ax.get_ylabel() == "frequency (Hz)":
            ax.set_ylabel("mel band")


def sample_figures(run: Run, task: ModelSpec, row, db: np.ndarray, get_signal, *, scale: bool,
                   force: bool) -> list[Path]:
    """Waveform (+ WAV of the clip) and spectrogram image of one sample; existing ones are kept.

    Parameters
    ----------
    run, task
    row : pd.Series
        The sample's row of :func:`xaispec.study.samples.test_table`.
    db : np.ndarray
        The model input (spectrogram or mel image) as stored, unscaled.
    get_signal : callable
        ``get_signal()`` gives the sample's audio (or None); it is only called when needed.
    scale : bool
        Min-max scale the waveform plot to [-1, 1].
    force : bool
        Draw again even when the files exist.

    Returns
    -------
    list of Path
        The files written.
    """
    from ..audio.resynthesis import write_wav
    from .. import figures as plots

    paths = sample_paths(run, task, row)
    if task.representation == "audionet":   # the input is the embedded second itself
        return _waveform_sample_figures(paths, row, db, scale=scale, force=force)
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


def method_figures(run: Run, task: ModelSpec, method: str, row, db: np.ndarray, signal: np.ndarray | None,
                   attribution: np.ndarray, extra: dict, *, top_percent: float) -> dict[str, Path]:
    """The study overlay, the panel and the audible explanation of one sample and method.

    Parameters
    ----------
    run, task, method
    row : pd.Series
        The sample's row of :func:`xaispec.study.samples.test_table`.
    db : np.ndarray
        The model input as stored.
    signal : np.ndarray or None
        The sample's audio (None: no waveform in the panel, no sound).
    attribution : np.ndarray
        The map, aligned with ``db``.
    extra : dict
        The sample's per-sample ``extra`` entries (LIME's ``mask`` draws its regions).
    top_percent : float
        Cells kept in the audible explanation.

    Returns
    -------
    dict
        ``figure``, ``panel`` and ``wav`` paths (``wav`` None without a signal).
    """
    from ..audio.resynthesis import audible_explanation, audible_mel, write_wav
    from .. import figures as plots

    paths = method_paths(run, task, method, row)
    if task.representation == "audionet":
        return _waveform_method_figures(paths, task, method, row, db, attribution)
    mel = task.representation != "alexnet"
    geometry = MEL_GEOMETRY if mel else {}
    title = f"{task.name} {row['sample_id']}: {plots.method_name(method)}, " \
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


def feature_plots(run: Run, task: ModelSpec, method: str, expl, features: np.ndarray, *,
                  max_display: int = 20) -> list[Path]:
    """SHAP summary (beeswarm) and bar plots of a 1D-feature model, per class and for the mean.

    Written to ``plots/xai/{method}/{model name}/``: ``summary_{class}.png`` and
    ``bar_{class}.png`` for each class, ``summary_mean.png`` (mean |value| over classes,
    coloured by feature value: signed values of a softmax model sum to about zero over
    classes) and ``bar_mean.png`` (the mean |value| per class, stacked).
    Maps without per-class values give ``summary_target.png`` and ``bar_target.png``.
    """
    from .. import figures as plots

    folder = feature_plot_folder(run, task, method)
    names = task.classes
    written = []
    values = expl.extra.get("values")
    label = plots.method_name(method)
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


def feature_plot_folder(run: Run, task: ModelSpec, method: str) -> Path:
    """``plots/xai/{method folder}/{model name}/``: where :func:`feature_plots` draws."""
    from .. import figures as plots

    return run.dir / "plots" / "xai" / plots.method_name(method) / task.name


def feature_plots_exist(run: Run, task: ModelSpec, method: str) -> bool:
    """Whether :func:`feature_plots` of ``method`` were drawn for ``task`` (its bar plot exists)."""
    folder = feature_plot_folder(run, task, method)
    return (folder / "bar_mean.png").is_file() or (folder / "bar_target.png").is_file()


# -- a waveform model (AudioNet): its input is the 8-kHz second itself ---------------------------

def _waveform_sample_figures(paths: dict, row, x: np.ndarray, *, scale: bool, force: bool) -> list[Path]:
    """The waveform (+ WAV) and the spectrogram of the same second, computed from the input."""
    from ..audio.features import alexnet_spectrogram
    from ..audio.resynthesis import write_wav
    from .. import figures as plots

    title = f"{row['sample_id']} ({row['sex']}, participant {row['participant']}, {row['actual']})"
    written = []
    if force or not paths["waveform"].is_file():
        plots.waveform(x, 8000, scale=scale, title=title, path=paths["waveform"])
        written.append(paths["waveform"])
    if force or not paths["waveform_wav"].is_file():
        write_wav(paths["waveform_wav"], np.asarray(x / 32768.0, dtype=np.float32), 8000)   # 16-bit units
        written.append(paths["waveform_wav"])
    if force or not paths["spectrogram"].is_file():
        plots.spectrogram(alexnet_spectrogram(x), title=title, path=paths["spectrogram"])
        written.append(paths["spectrogram"])
    return written


def _waveform_method_figures(paths: dict, task: ModelSpec, method: str, row, x: np.ndarray,
                             attribution: np.ndarray) -> dict[str, Path]:
    """The waveform coloured by relevance above its spectrogram (figure and panel alike), and the
    waveform weighted by its smoothed positive relevance as sound."""
    from ..audio.features import alexnet_spectrogram
    from ..audio.resynthesis import audible_waveform, write_wav
    from .. import figures as plots
    from ..figures.waveforms import relevance_waveforms

    title = f"{task.name} {row['sample_id']}: {plots.method_name(method)}, " \
            f"actual {row['actual']}, predicted {row['predicted']}"
    a = np.asarray(attribution, dtype=np.float64).reshape(-1)
    fig = relevance_waveforms([x / 32768.0], [a], [alexnet_spectrogram(x)], [title])
    plots.save_figure(fig, paths["figure"])
    plots.save_figure(fig, paths["panel"])
    write_wav(paths["wav"], audible_waveform(x, a), 8000)
    return paths
