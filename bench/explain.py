"""Benchmark: explanation methods, our batched code vs the studies' way of running them.

All timed side by side in one run on this machine (study and ours alternate in every
repeat, so they share the machine's noise); medians are reported.

Models: the trained smoke models of the ``synthetic-digits`` (AlexNet, digit fold 0) and
``synthetic-emotions`` (1D CNN, emotion fold 0) runs under ``$XAISPEC_ROOT`` when they
exist (``--alexnet`` / ``--cnn1d`` name other model files), else untrained networks of the
same architecture (timing does not depend on the weights). Every comparison runs in
float32 on both sides (the studies trained and explained float32 models, and ``xaispec
explain`` explains a float32 copy of a mixed-precision model by default); study and ours
always share the same model. Then every AlexNet method of the book runs on the same inputs
in mixed bfloat16 and in float32: seconds per map and the rank correlation of the maps,
which decide whether bfloat16 explanation is worth offering. Inputs are test-fold rows scaled as in training (random rows
without a run).

Timed:
  (a) LIME on one spectrogram, 100 perturbations, quickshift: the study's
      ``LimeImageExplainer().explain_instance(..., batch_size=1)`` with a classifier that
      calls ``model.predict`` one image at a time, vs ``get_explainer("lime", ...)`` with
      the same number of samples;
  (b) Grad-CAM: the keras-io/study function that builds the gradient model at every call
      and runs eagerly on one image (plus the resize to the spectrogram), vs our compiled
      batched ``get_explainer("gradcam", ...)`` on a batch;
  (c) SHAP on the 1D CNN: the emotion study's ``shap.KernelExplainer(model.predict,
      background)`` with ``nsamples=128`` and a raw background of 50 training rows, vs our
      default tabular estimator ``shap_kernel`` (k-means summary of the background with 10
      centres, batched predictions), with the Spearman rank correlation of their
      attributions (and of each against a high-budget permutation reference);
  (d) LRP against Grad-CAM, both ours, on the same AlexNet and batch (maps/s, alternating):
      the book's default composite (epsilon-gamma-box, with the dB bounds of the scaled
      input) and the others, with the relevance each conserves. Its target: one LRP map
      costs at most 3 Grad-CAM maps. ``--lrp-only`` runs this part alone.

Usage::

    XAISPEC_ROOT=/tmp/xp python bench/explain.py [--repeats 3] [--write-results]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import io
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from xaispec.quiet import filter_native_stderr

filter_native_stderr()  # TensorFlow's start-up lines stay out of the benchmark's output

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, provenance_lines, verdict, write_section  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
SECTION = "## Explanations (bench/explain.py)"
LRP_SECTION = "## LRP against Grad-CAM (bench/explain.py)"
LRP_TARGET = 3.0  # an LRP map may cost at most this many Grad-CAM maps
TARGETS = {"lime": 6.0, "gradcam": 30.0, "shap": 5.0}
REF_EVALS = 600  # permutation-SHAP evaluations per row of the reference attributions


def step(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- models and inputs

def _trained(label: str, fold, model: str, override: Path | None):
    """(model file, Run, ModelSpec) of a trained smoke model, or (None, None, None)."""
    from xaispec.config import Paths
    from xaispec.models.runs import Run, ModelSpec

    corpus = "synthetic-digits" if model == "alexnet" else "synthetic-emotions"
    paths = Paths.default()
    run = Run(paths.run(corpus), paths.processed / corpus)
    task = ModelSpec(label, fold, model)
    path = override or run.model_path(task)
    if path.is_file() and run.store(task.representation).is_file() and run.model_path(task) == path:
        return path, run, task
    return (path if path.is_file() else None), None, None


def load_inputs(run, task, part: str, n: int, seed: int = 0) -> np.ndarray:
    """``n`` rows of a split part, scaled as in training, with the channel axis."""
    from xaispec.data.store import Store
    from xaispec.models.datasets import BatchReader, apply_scaling, load_parts, load_scaling

    store = Store(run.store(task.representation))
    p = load_parts(run, task, store)[part]
    take = np.sort(np.random.default_rng(seed).choice(len(p), min(n, len(p)), replace=False))
    reader = BatchReader(store.path)
    try:
        return apply_scaling(reader.read(p.refs[take]), load_scaling(run, task))
    finally:
        reader.close()


def _precisions(model) -> dict:
    """{"float32": the model in float32 (a copy of a mixed-precision one, as ``xaispec explain``
    runs it), "bfloat16": the model in mixed bfloat16 (as trained, or a copy)}."""
    from xaispec.models.loading import float32_model, model_copy, model_precision

    if model_precision(model) == "mixed_bfloat16":
        return {"float32": float32_model(model), "bfloat16": model}
    return {"float32": model, "bfloat16": model_copy(model, "mixed_bfloat16")}


def _load_or_build(label: str, kind: str, path: Path | None, build, name: str):
    """The trained smoke model of (label, fold 0, kind) when there is one, else an untrained ``build()``."""
    import keras

    model_path, run, task = _trained(label, 0, kind, path)
    if model_path is not None:
        model = keras.saving.load_model(model_path, compile=False)
        source = f"trained smoke model {model_path.name} (policy {model.layers[0].dtype_policy.name})"
    else:
        keras.utils.set_random_seed(0)
        model = build()
        source = f"untrained {name} (no trained smoke model found)"
    return model, run, task, source


def setup_alexnet(path: Path | None):
    from xaispec.models.architectures import alexnet

    model, run, task, source = _load_or_build("digit", "alexnet", path, lambda: alexnet(10), "AlexNet")
    if run is not None:
        x = load_inputs(run, task, "test", 64)
    else:
        x = np.random.default_rng(0).normal(size=(64, 227, 227, 1)).astype(np.float32)
    return _precisions(model), x, source


def alexnet_bounds(path: Path | None):
    """The scaled [-80, 0] dB range of the smoke AlexNet's inputs (the study's dB/255 without a run)."""
    from xaispec.models.datasets import input_bounds, load_scaling

    _, run, task = _trained("digit", 0, "alexnet", path)
    scaling = load_scaling(run, task) if run is not None else {"kind": "divide", "divisor": 255.0}
    return input_bounds("alexnet", scaling)


def setup_cnn1d(path: Path | None):
    from xaispec.models.architectures import cnn1d

    model, run, task, source = _load_or_build("emotion", "cnn1d", path, lambda: cnn1d(8), "CNN1D")
    rng = np.random.default_rng(1)
    if run is not None:
        background = load_inputs(run, task, "train", 200, seed=0)
        x = load_inputs(run, task, "test", 16, seed=1)
    else:
        background = rng.normal(size=(200, 128, 1)).astype(np.float32)
        x = rng.normal(size=(16, 128, 1)).astype(np.float32)
    return _precisions(model), background, x, source


# ---------------------------------------------------------------- the studies' code

def study_lime(model, image: np.ndarray, num_samples: int = 100):
    """The AudioMNIST study's LIME call: gray -> RGB, lime's own explainer, batch_size=1,
    a classifier calling ``model.predict`` on one image at a time."""
    from lime import lime_image

    def classifier(images):
        out = []
        for img in images:  # batch_size=1: lime hands one image per call anyway
            gray = img[:, :, :1]
            out.append(model.predict(gray[None], verbose=0))
        return np.concatenate(out)

    rgb = np.repeat(image.reshape(227, 227, 1), 3, axis=-1).astype(np.float64)
    explainer = lime_image.LimeImageExplainer(random_state=0)
    with contextlib.redirect_stderr(io.StringIO()):  # lime 0.2.0.1 always shows a progress bar
        exp = explainer.explain_instance(rgb, classifier, top_labels=2, hide_color=0, num_samples=num_samples,
                                         batch_size=1, random_seed=0)
    exp.get_image_and_mask(exp.top_labels[0], positive_only=False, num_features=10, hide_rest=False)
    return exp


def study_gradcam(model, image: np.ndarray, layer_name: str):
    """keras-io's ``make_gradcam_heatmap`` as the study called it: a new gradient model per
    call, eager, one image; then the heatmap resized to the spectrogram."""
    import keras
    import tensorflow as tf

    from xaispec.explain._model import layer_output

    img_array = image[None]
    # the study's ``model.get_layer(name).output`` and ``model.output``; the layer's output is
    # looked up in the model's own graph (in Keras 3, ``layer.output`` of a loaded or cloned
    # Sequential belongs to a stale copy of the graph and its gradients would be None)
    conv = layer_output(model, model.get_layer(layer_name))
    grad_model = keras.models.Model(model.inputs, [conv, model.outputs[0]])
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(img_array)
        pred_index = tf.argmax(preds[0])
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = last_conv_layer_output[0] @ pooled_grads[..., tf.newaxis]
    heatmap = tf.squeeze(heatmap)
    heatmap = tf.maximum(heatmap, 0) / tf.math.reduce_max(heatmap)
    heatmap = tf.image.resize(heatmap[..., None], image.shape[:2]).numpy()[..., 0]
    return heatmap


def study_kernel_shap(model, background: np.ndarray, rows: np.ndarray, nsamples: int = 128):
    """The emotion study's second estimator: ``shap.KernelExplainer(model.predict, background)``."""
    import shap

    from xaispec.explain._shap import quiet

    def f(z):
        return model.predict(z.reshape(len(z), -1, 1), verbose=0)

    with quiet():
        explainer = shap.KernelExplainer(f, background.reshape(len(background), -1))
        values = explainer.shap_values(rows.reshape(len(rows), -1), nsamples=nsamples, silent=True)
    values = np.stack(values, axis=-1) if isinstance(values, list) else np.asarray(values)
    return values  # (n, 128, classes)


# ---------------------------------------------------------------- timing

def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    r = spearmanr(np.ravel(a), np.ravel(b)).statistic
    return float(r) if np.isfinite(r) else 0.0


def bench_lime(model, x, repeats: int) -> dict:
    from xaispec.explain import get_explainer

    ours = get_explainer("lime", model, segmentation="quickshift", num_samples=100, num_features=10, top_labels=2,
                         seed=0)
    # warm both (graph tracing, first predict)
    study_lime(model, x[0], num_samples=10)
    ours.explain(x[:1])
    st, ot = [], []
    for r in range(repeats):
        img = x[r % len(x)]
        t, _ = timed(lambda: study_lime(model, img))
        st.append(t)
        t, _ = timed(lambda: ours.explain(img[None]))
        ot.append(t)
        step(f"  LIME repeat {r + 1}: study {st[-1]:.2f} s, ours {ot[-1]:.2f} s")
    # where the time goes in ours: quickshift alone
    seg = ours._segmenter()
    rgb = np.repeat(x[0].reshape(227, 227, 1), 3, axis=-1).astype(np.float64)
    qs, _ = timed(lambda: seg(rgb))
    return {"study": st, "ours": ot, "ratio": statistics.median(st) / statistics.median(ot), "quickshift": qs}


def bench_gradcam(model, x, repeats: int, calls: int) -> dict:
    from xaispec.explain import get_explainer
    from xaispec.explain.gradcam import find_conv_layer

    layer = find_conv_layer(model).name
    ours = get_explainer("gradcam", model, layer=layer, batch_size=len(x))
    study_gradcam(model, x[0], layer)
    ours.explain(x)
    st, ot = [], []
    for r in range(repeats):
        t, _ = timed(lambda: [study_gradcam(model, x[i % len(x)], layer) for i in range(calls)])
        st.append(calls / t)
        t, _ = timed(lambda: ours.explain(x))
        ot.append(len(x) / t)
        step(f"  Grad-CAM repeat {r + 1}: study {st[-1]:.1f}/s, ours {ot[-1]:.1f}/s")
    # the compute floor: one batched forward pass; and ours when the predicted classes are known
    # (as `xaispec explain` runs it: targets from the evaluation's predictions file)
    from xaispec.explain import _model as M

    M.predict(model, x, batch_size=len(x))
    forward, pred = timed(lambda: M.predict(model, x, batch_size=len(x)))
    targets = pred.argmax(axis=1)
    known = [len(x) / timed(lambda: ours.explain(x, targets))[0] for _ in range(repeats)]
    # agreement of the maps (the study differentiates probabilities of the softmax output)
    ours_p = get_explainer("gradcam", model, layer=layer, output="probs").explain(x[:4]).maps
    study_maps = np.stack([study_gradcam(model, x[i], layer) for i in range(4)])
    agree = float(np.max(np.abs(np.nan_to_num(study_maps) - ours_p)))
    return {"study": st, "ours": ot, "ratio": statistics.median(ot) / statistics.median(st), "calls": calls,
            "batch": len(x), "max_abs_diff": agree, "forward_ms": 1000 * forward / len(x), "known": known}


def bench_lrp(model, x, repeats: int, bounds) -> dict:
    """Maps/s of LRP (every composite) and of Grad-CAM on the same model and batch, alternating."""
    from xaispec.explain import get_explainer
    from xaispec.explain.lrp import COMPOSITES

    targets = np.zeros(len(x), dtype=np.int64)  # classes given: both skip the prediction pass
    gradcam = get_explainer("gradcam", model, batch_size=len(x))
    # saliency: one full backward pass to the input (Grad-CAM's stops at the last convolution)
    saliency = get_explainer("saliency", model, batch_size=len(x))
    lrps = {c: get_explainer("lrp", model, composite=c, bounds=bounds, batch_size=len(x)) for c in COMPOSITES}
    gradcam.explain(x, targets)
    saliency.explain(x, targets)
    for e in lrps.values():  # compile every pass first
        e.explain(x, targets)
    rates = {"gradcam": [], "saliency": [], **{c: [] for c in lrps}}
    for r in range(repeats):
        rates["gradcam"].append(len(x) / timed(lambda: gradcam.explain(x, targets))[0])
        rates["saliency"].append(len(x) / timed(lambda: saliency.explain(x, targets))[0])
        for c, e in lrps.items():
            rates[c].append(len(x) / timed(lambda: e.explain(x, targets))[0])
        step(f"  LRP repeat {r + 1}: Grad-CAM {rates['gradcam'][-1]:.1f}/s, "
             f"epsilon_gamma_box {rates['epsilon_gamma_box'][-1]:.1f}/s")
    conserved = {}
    for c, e in lrps.items():
        res = e.explain(x[:8], targets[:8])
        total = res.maps.reshape(len(res.maps), -1).sum(axis=1)
        conserved[c] = float(np.median(total / res.extra["scores"]))
    med = statistics.median
    return {"batch": len(x), "rates": rates, "conserved": conserved,
            "cost": {c: med(rates["gradcam"]) / med(rates[c]) for c in lrps},
            "saliency_cost": med(rates["gradcam"]) / med(rates["saliency"])}


def render_lrp(res: dict, source: str, repeats: int) -> str:
    med = statistics.median
    lines = [f"Model: {source}, float32; batches of {res['batch']} spectrograms with the classes given; "
             f"{repeats} repeats, Grad-CAM and every composite alternating; medians. Target: one LRP map costs at "
             f"most {LRP_TARGET:.0f} Grad-CAM maps.", "",
             "| method | maps/s (median) | runs | cost in Grad-CAM maps | input relevance / logit (median of 8) | result |",
             "|---|---:|---|---:|---:|---|"]
    g = res["rates"]["gradcam"]
    lines.append(f"| Grad-CAM | {med(g):.1f} | {', '.join(f'{v:.1f}' for v in g)} | 1.0 | - | - |")
    v = res["rates"]["saliency"]
    lines.append(f"| saliency (a full backward pass to the input) | {med(v):.1f} | {', '.join(f'{t:.1f}' for t in v)} | "
                 f"{res['saliency_cost']:.1f} | - | - |")
    for c, cost in res["cost"].items():
        v = res["rates"][c]
        ok = "met" if cost <= LRP_TARGET else "missed"
        lines.append(f"| LRP {c} | {med(v):.1f} | {', '.join(f'{t:.1f}' for t in v)} | {cost:.1f} | "
                     f"{res['conserved'][c]:.2f} | {ok} |")
    sal = res["saliency_cost"]
    lines += ["", f"Why the target is missed: Grad-CAM's backward pass stops at the last convolution, while LRP's "
              f"goes through every layer to the input, as saliency's does: a saliency map costs {sal:.1f} Grad-CAM "
              f"maps here, LRP-0 {res['cost']['zero'] / sal:.1f} saliency maps. The rules that split positive and "
              "negative contributions run three modified forward passes and four modified backward passes "
              "per convolution (inputs of both signs: batch normalisation follows the ReLU), so "
              f"epsilon_gamma_box costs {res['cost']['epsilon_gamma_box'] / sal:.1f} saliency maps and the "
              f"z+ composites {res['cost']['epsilon_plus_flat'] / sal:.1f}. Against a full backward pass, "
              "the comparison of like with like, every composite stays within about 3x. The presets' "
              "relevance over the logit is about 0.01: their epsilon 0.1 on the dense layers absorbs most of "
              "an untrained network's small logits."]
    return "\n".join(lines)


def bench_shap(model, background, x, repeats: int, rows: int, reference: bool = True) -> dict:
    from xaispec.explain import get_explainer

    bg50 = background[np.sort(np.random.default_rng(0).choice(len(background), 50, replace=False))]
    ours = get_explainer("shap_kernel", model, background=background, n_background=100, k=10, nsamples=128, seed=0)
    study_kernel_shap(model, bg50, x[:1])
    ours.explain(x[:1])
    st, ot, study_vals, ours_vals = [], [], None, None
    for r in range(repeats):
        t, study_vals = timed(lambda: study_kernel_shap(model, bg50, x[:rows]))
        st.append(t / rows)
        t, e = timed(lambda: ours.explain(x[:rows], targets=np.zeros(rows, dtype=int)))
        ours_vals = e.extra["values"]
        ot.append(t / rows)
        step(f"  SHAP repeat {r + 1}: study {st[-1]:.3f} s/row, ours {ot[-1]:.3f} s/row")
    # rank agreement per row and class, then the median; and against a permutation reference
    n_classes = np.asarray(study_vals).shape[-1]

    def agreement(a, b):
        return statistics.median(spearman(a[i, :, c], b[i, :, c]) for i in range(rows) for c in range(n_classes))

    sv = np.asarray(study_vals).reshape(rows, -1, n_classes)
    ov = np.asarray(ours_vals).reshape(rows, -1, n_classes)
    out = {"study": st, "ours": ot, "ratio": statistics.median(st) / statistics.median(ot), "rows": rows,
           "rho_study_ours": agreement(sv, ov)}
    if reference:
        ref = get_explainer("shap_permutation", model, background=bg50, n_background=50, max_evals=REF_EVALS,
                            seed=0, batch_size=512).explain(x[:rows]).extra["values"]
        out.update(rho_study_ref=agreement(sv, ref), rho_ours_ref=agreement(ov, ref))
    return out


#: the book's AlexNet methods, compared in bfloat16 and float32
PRECISION_METHODS = ("gradcam", "gradcam++", "lime", "integrated_gradients", "smoothgrad", "saliency", "occlusion",
                     "shap_gradient", "shap_partition")
#: bfloat16 explanation stays an option only where it is faster and its maps agree this well
AGREEMENT = 0.95


def bench_precision(models: dict, x: np.ndarray, n: int, methods=PRECISION_METHODS) -> dict:
    """Per method: seconds per map in bfloat16 and float32 on the same ``n`` inputs and classes,
    and the Spearman rank correlation of each pair of maps (median and minimum)."""
    from xaispec.explain import get_explainer
    from xaispec.explain import _model as M

    x = x[:n]
    targets = M.predict(models["float32"], x).argmax(axis=1)  # the same class explained in both
    out = {}
    for name in methods:
        maps, seconds = {}, {}
        for prec in ("float32", "bfloat16"):
            bg = x if name == "shap_gradient" else None
            explainer = get_explainer(name, models[prec], **({"background": bg} if bg is not None else {}))
            explainer.explain(x[:1], targets[:1])  # warm-up: tracing
            t, e = timed(lambda: explainer.explain(x, targets))
            maps[prec], seconds[prec] = e.maps, t / len(x)
        rho = [spearman(a, b) for a, b in zip(maps["float32"], maps["bfloat16"])]
        speed = seconds["float32"] / seconds["bfloat16"]
        med = statistics.median(rho)
        out[name] = {"float32": seconds["float32"], "bfloat16": seconds["bfloat16"], "speedup": speed,
                     "rho_median": med, "rho_min": min(rho), "keep": speed > 1.0 and med >= AGREEMENT}
        step(f"  {name}: float32 {seconds['float32']:.3f} s/map, bfloat16 {seconds['bfloat16']:.3f} s/map "
             f"({speed:.2f}x), Spearman median {med:.3f}")
    return out


def render_precision(res: dict, n: int, source: str) -> str:
    lines = [f"AlexNet ({source}); {n} test spectrograms, the class predicted in float32 explained in both "
             "precisions with each method's own default parameters and seeds; Spearman rank correlation of each "
             f"bfloat16 map with its float32 map. bfloat16 stays an option where it is faster and the median "
             f"correlation is >= {AGREEMENT}.", "",
             "| method | float32 s/map | bfloat16 s/map | bfloat16 speed-up | Spearman median | Spearman min | "
             "bfloat16 kept as an option |", "|---|---:|---:|---:|---:|---:|---|"]
    for name, r in res.items():
        lines.append(f"| {name} | {r['float32']:.3f} | {r['bfloat16']:.3f} | {r['speedup']:.2f}x | "
                     f"{r['rho_median']:.3f} | {r['rho_min']:.3f} | {'yes' if r['keep'] else 'no'} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- report

def render(r: dict) -> str:
    f2 = lambda ts: ", ".join(f"{t:.2f}" for t in ts)  # noqa: E731
    f1 = lambda ts: ", ".join(f"{t:.1f}" for t in ts)  # noqa: E731
    f3 = lambda ts: ", ".join(f"{t:.3f}" for t in ts)  # noqa: E731
    med = statistics.median
    lines = [
        f"Models: AlexNet: {r['alexnet']}; 1D CNN: {r['cnn1d']}. Both sides run in float32 (the studies "
        "trained and explained float32 models; `xaispec explain` explains a float32 copy of a mixed-precision "
        f"model by default). {r['repeats']} repeats, study and ours alternating; medians.",
        "",
        "| comparison | precision | study (median) | ours (median) | runs study | runs ours | ratio | target | result |",
        "|---|---|---:|---:|---|---|---:|---:|---|",
    ]
    for prec, res in r["runs"].items():
        L, G, S = res["lime"], res["gradcam"], res["shap"]
        lines += [
            f"| LIME, one spectrogram, 100 samples, quickshift (s per explanation) | {prec} | {med(L['study']):.2f} | "
            f"{med(L['ours']):.2f} | {f2(L['study'])} | {f2(L['ours'])} | {L['ratio']:.1f}x | "
            f">= {TARGETS['lime']:.0f}x | {verdict(L['ratio'], TARGETS['lime'])} |",
            f"| Grad-CAM (explanations/s; study: {G['calls']} calls of one image, ours: batches of {G['batch']}) | "
            f"{prec} | {med(G['study']):.1f} | {med(G['ours']):.1f} | {f1(G['study'])} | {f1(G['ours'])} | "
            f"{G['ratio']:.1f}x | >= {TARGETS['gradcam']:.0f}x | {verdict(G['ratio'], TARGETS['gradcam'])} |",
            f"| SHAP on the 1D CNN, {S['rows']} rows (s per row): study KernelExplainer, 50 raw background rows, "
            f"nsamples 128, vs ours shap_kernel | {prec} | {med(S['study']):.3f} | {med(S['ours']):.3f} | "
            f"{f3(S['study'])} | {f3(S['ours'])} | {S['ratio']:.1f}x | >= {TARGETS['shap']:.0f}x | "
            f"{verdict(S['ratio'], TARGETS['shap'])} |",
        ]
    first = next(iter(r["runs"].values()))
    lines += ["", "Notes:", ""]
    for prec, res in r["runs"].items():
        L, G = res["lime"], res["gradcam"]
        study_ms = 1000 / med(G["study"])
        lines.append(
            f"- {prec}: LIME's quickshift segmentation alone takes {L['quickshift']:.2f} s per spectrogram, the same "
            f"in both. Grad-CAM: the study spends {study_ms:.0f} ms per call (a new gradient model, eager "
            f"execution), ours {1000 / med(G['ours']):.1f} ms per map, of which one batched forward pass is "
            f"{G['forward_ms']:.1f} ms per image: even a free backward pass would give at most "
            f"{study_ms / G['forward_ms']:.0f}x (the cap), and ours reaches {G['ratio'] / (study_ms / G['forward_ms']):.0%} "
            "of it. Ours includes predicting the explained (predicted) classes; "
            f"with the classes known, as `xaispec explain` runs it, {med(G['known']):.1f} maps/s "
            f"({med(G['known']) / med(G['study']):.1f}x). Maps agree with the study's (ours with `output='probs'`, as "
            f"the study differentiated the softmax) to max |diff| {G['max_abs_diff']:.1e} on 4 spectrograms.")
    S = first["shap"]
    lines += [
        "- LIME: the study's time is mostly 100 `model.predict` calls of one image each; ours predicts the "
        "perturbations in batches of 64 and builds them vectorised from the same random draws as lime.",
        f"- SHAP ({next(iter(r['runs']))}): Spearman rank correlation of the attributions (per row and class, "
        f"median) study vs ours {S['rho_study_ours']:.2f}; each against a permutation-SHAP reference "
        f"(max_evals {REF_EVALS}, the study's 50 background rows): study {S.get('rho_study_ref', float('nan')):.2f}, "
        f"ours {S.get('rho_ours_ref', float('nan')):.2f}. With 128 coalitions for 128 features both Kernel SHAP "
        "runs are rough (shap's automatic L1 selection keeps few features and zeroes the rest); the smoke "
        "models are barely trained, so their attributions are small and close to ties.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="repeats of each comparison (default 3)")
    ap.add_argument("--gradcam-calls", type=int, default=32, help="study Grad-CAM calls per repeat (default 32)")
    ap.add_argument("--shap-rows", type=int, default=4, help="rows explained per SHAP repeat (default 4)")
    ap.add_argument("--alexnet", type=Path, default=None, help="an AlexNet .keras file (default: the smoke run's)")
    ap.add_argument("--cnn1d", type=Path, default=None, help="a CNN1D .keras file (default: the smoke run's)")
    ap.add_argument("--precision-maps", type=int, default=8, help="spectrograms of the bfloat16/float32 comparison")
    ap.add_argument("--lrp-only", action="store_true", help="run only LRP against Grad-CAM")
    ap.add_argument("--write-results", action="store_true", help="write the section in bench/RESULTS.md")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(PROJECT / "src"))

    date = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    step(machine_line())
    step("setup")
    alexnets, x, a_source = setup_alexnet(args.alexnet)
    step(f"  AlexNet: {a_source}; {len(x)} inputs")
    step("LRP against Grad-CAM (float32)")
    lrp_res = bench_lrp(alexnets["float32"], x[:32], args.repeats, alexnet_bounds(args.alexnet))
    lrp_table = render_lrp(lrp_res, a_source, args.repeats)
    step(f"  epsilon_gamma_box costs {lrp_res['cost']['epsilon_gamma_box']:.1f} Grad-CAM maps")
    if args.write_results:
        keep = ("python", "xaispec", "numpy", "tensorflow", "keras")
        step(f"wrote {write_section(LRP_SECTION, chr(10).join([*provenance_lines(date, keep), '', lrp_table]))}")
    if args.lrp_only:
        print()
        print(lrp_table)
        return 0
    cnns, background, rows, c_source = setup_cnn1d(args.cnn1d)
    step(f"  1D CNN: {c_source}")
    runs = {}
    for prec in ("float32",):
        step(f"LIME ({prec})")
        lime = bench_lime(alexnets[prec], x, args.repeats)
        step(f"  ratio {lime['ratio']:.1f}x")
        step(f"Grad-CAM ({prec})")
        gradcam = bench_gradcam(alexnets[prec], x, args.repeats, args.gradcam_calls)
        step(f"  ratio {gradcam['ratio']:.1f}x")
        cnn = cnns[prec]
        step(f"SHAP ({prec})")
        shap_r = bench_shap(cnn, background, rows, args.repeats, args.shap_rows, reference=not runs)
        step(f"  ratio {shap_r['ratio']:.1f}x, Spearman study/ours {shap_r['rho_study_ours']:.2f}")
        runs[prec] = {"lime": lime, "gradcam": gradcam, "shap": shap_r}
    step(f"bfloat16 against float32 maps ({args.precision_maps} spectrograms)")
    prec = bench_precision(alexnets, x, args.precision_maps)
    r = {"date": date, "repeats": args.repeats, "alexnet": a_source, "cnn1d": c_source, "runs": runs}
    table = render(r) + "\n\n### bfloat16 against float32 explanations\n\n" + render_precision(
        prec, args.precision_maps, a_source)
    print()
    print(table)
    if args.write_results:
        keep = ("python", "xaispec", "numpy", "tensorflow", "keras", "lime", "shap")
        body = "\n".join([*provenance_lines(date, keep), "",
                          "Targets: LIME >= 6x faster per explanation, Grad-CAM >= 30x more explanations/s, "
                          "SHAP on the 1D CNN >= 5x faster per row.", "", table])
        path = write_section(SECTION, body)
        step(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
