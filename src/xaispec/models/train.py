"""Training: one model per (label, fold), seeded, checkpointed every epoch, resumable.

The data come from the prepared store and the split files through a ``tf.data``
pipeline that reads whole batches of rows from the HDF5 store (never one file per
sample). The epoch loop is ours, not Keras callbacks, so that everything that decides
the next epoch (weights, optimizer state, learning rate, plateau and early-stopping
counters, data order) is saved at every epoch and a killed run resumes to the same
final weights as an uninterrupted one.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import OPTIMIZERS
from .._io import sha256_file, write_json_atomic, write_text_atomic
from ..errors import DataError, ParameterError, TrainingError
from ..events import EventLog
from .datasets import BatchReader, dataset, fit_scaling, load_parts, spread
from .runs import Run, ModelSpec


@dataclass
class TrainResult:
    task: ModelSpec
    model_path: Path
    history: pd.DataFrame
    reused: bool = False
    resumed_from: int = 0
    seconds: float = 0.0
    #: what this call computed, in countable units: training images x epochs (``image_epochs``)
    #: and validation images predicted (``forward``); see :func:`work_units`
    work: dict | None = None


def work_units(n_train: int, n_validate: int, epochs: int) -> dict:
    """The work of ``epochs`` epochs: each trains on ``n_train`` images and predicts ``n_validate``."""
    return {"image_epochs": int(n_train) * int(epochs), "forward": int(n_validate) * int(epochs)}


def settings(profile, model: str, label: str | None = None, corpus: str | None = None) -> dict:
    """The training settings of ``model`` in ``profile``, with the shared ones.

    Epochs: the model's, replaced in turn by the label's (``train.label_epochs``), the model's own
    for the label (``train.MODEL.label_epochs``) and, for the ``cue`` label of a corpus
    ``synthetic-cues-KIND``, the kind's (``train.cue_epochs``); 0 leaves the count before it.
    """
    out = dict(profile.get(f"train.{model}"))
    kind = corpus.rsplit("-", 1)[-1] if label == "cue" and corpus and corpus.startswith("synthetic-cues-") else None
    for counts, key in ((profile.get("train.label_epochs"), label), (out.pop("label_epochs", None) or {}, label),
                        (profile.get("train.cue_epochs") or {}, kind)):
        if key is not None and counts.get(key, 0):
            out["epochs"] = int(counts[key])
    out.update(scaling=profile.get("train.scaling"), mixed_precision=profile.get("train.mixed_precision"),
               study_sigmoid=profile.get("train.study_sigmoid"), validate_max=profile.get("train.validate_max"),
               seed=profile.get("seed"))
    return out


def _config_hash(cfg: dict, store, run: Run, task: ModelSpec, policy: str) -> str:
    from ..data.splits import PROTOCOLS, split_path

    # the policy chosen, not the setting: "auto" trains in bfloat16 on one machine, float32 on another
    h = hashlib.sha256(json.dumps({**cfg, "policy": policy}, sort_keys=True).encode())
    h.update(str(store.attrs.get("config_hash", "")).encode())
    parts = ("train", "test") if task.fold in PROTOCOLS else ("train", "validate", "test")
    for part in parts:
        h.update(split_path(run.dir, task.label, task.fold, part).read_bytes())
    return h.hexdigest()


def configure_tensorflow(seed: int, mixed_precision="auto"):
    """Seed everything, make ops deterministic, set the precision policy.

    ``mixed_precision`` is ``"auto"``, ``True`` or ``False`` (``train.mixed_precision``);
    :func:`xaispec.models.machine.precision` turns it into a policy for this machine. Returns the
    :class:`xaispec.models.machine.Precision` chosen (its ``policy`` and why).
    """
    import keras
    import tensorflow as tf

    from .machine import precision

    choice = precision(mixed_precision)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(choice.policy)
    return choice


def compile_model(model, task: ModelSpec, cfg: dict, learning_rate: float):
    """Compile ``model`` with ``cfg["optimizer"]``, one of :data:`xaispec.config.OPTIMIZERS`
    (every profile inherits each model's study's optimizer from base.yaml: SGD for AlexNet,
    SGD with momentum 0.9 for AudioNet, Adam for the emotion models)."""
    import keras

    name = cfg["optimizer"]
    if name == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    elif name == "sgd_momentum":
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    elif name == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    else:
        raise ParameterError(f"train.{task.model}.optimizer={name!r} is not one of {list(OPTIMIZERS)}")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class _BatchBar:
    """A Keras callback showing a tqdm bar over the batches of one epoch."""

    def __new__(cls, total: int, desc: str, disable: bool):
        import keras
        from tqdm.auto import tqdm

        class Bar(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.bar = tqdm(total=total, desc=desc, unit="batch", leave=False, disable=disable or None)

            def on_train_batch_end(self, batch, logs=None):
                self.bar.update(1)
                if logs and "loss" in logs:
                    self.bar.set_postfix(loss=f"{float(logs['loss']):.3f}")

            def on_train_end(self, logs=None):
                self.bar.close()

        return Bar()


def check_model_file(path: str | os.PathLike, *, input_shape: tuple, n_classes: int):
    """Load a Keras model file and check it fits the task.

    Raises
    ------
    DataError
        Missing, unreadable or corrupt file; input shape or class count that do not match.
    """
    import keras

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise DataError(f"{path}: not a readable Keras model ({reason[:200]})") from None
    got_in = tuple(model.input_shape[1:])
    if got_in != tuple(input_shape):
        raise DataError(f"{path}: model input shape {got_in} does not match the data {tuple(input_shape)}")
    got_out = model.output_shape[-1]
    if got_out != n_classes:
        raise DataError(f"{path}: model has {got_out} outputs but the task has {n_classes} classes")
    return model


def _save_atomic(save, path: Path, suffix: str) -> None:
    """Save with ``save(tmp)`` under a hidden name ending in ``suffix`` (Keras checks the
    suffix), then rename to ``path``: a kill never leaves a half-written file there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _save_model(model, path: Path) -> None:
    _save_atomic(model.save, path, ".keras")


def _save_weights(model, path: Path) -> None:
    _save_atomic(model.save_weights, path, ".weights.h5")


def train(run: Run, task: ModelSpec, profile, *, from_model: str | os.PathLike | None = None,
          force: bool = False, progress: bool = True, epochs: int | None = None,
          stop_after: int | None = None) -> TrainResult:
    """Train (or adopt) the model of ``task`` and write its model and history files.

    Parameters
    ----------
    run : Run
    task : ModelSpec
    profile : xaispec.config.Profile
        Gives epochs, batch size, learning rate, scaling, precision and seed.
    from_model : path-like, optional
        Use this trained Keras model instead of training (checked first).
    force : bool
        Train again even if an up-to-date model exists.
    epochs : int, optional
        Override the profile's epoch count.
    stop_after : int, optional
        Stop (as if killed) after this many epochs of this call, leaving the checkpoint;
        used to test resumption.

    Returns
    -------
    TrainResult
    """
    import keras

    from ..data.store import Store
    from .architectures import build

    cfg = settings(profile, task.model, task.label, run.processed.name)
    if epochs is not None:
        cfg["epochs"] = int(epochs)
    log = EventLog(run.dir)
    store_path = run.store(task.representation)
    if not store_path.is_file():
        raise DataError(f"{store_path}: store not found (create it with 'xaispec data prepare "
                        f"{run.processed.name} -r {task.representation}')")
    store = Store(store_path)
    choice = configure_tensorflow(cfg["seed"], cfg["mixed_precision"])
    policy = choice.policy
    chash = _config_hash(cfg, store, run, task, policy)
    model_path = run.model_path(task)
    sidecar = model_path.with_suffix(".json")
    if model_path.is_file() and sidecar.is_file() and not force and from_model is None:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
        if info.get("config_hash") == chash:
            log("train_reused", task=task.name)
            history = pd.read_csv(run.history_path(task, "csv")) if run.history_path(task, "csv").is_file() \
                else pd.DataFrame()
            return TrainResult(task, model_path, history, reused=True)

    t0 = time.time()
    reader = BatchReader(store_path)
    try:
        parts = load_parts(run, task, store)
        # scoring every validation image after each epoch costs forward passes a short run can spare
        parts["validate"] = spread(parts["validate"], cfg.get("validate_max", 0))
        scaling = fit_scaling(reader, parts["train"], model=task.model, kind=cfg["scaling"])
        input_shape = (*store.shape[1:], 1)
        n_classes = len(task.classes)
        write_json_atomic(model_path.with_suffix(".scaling.json"), scaling)

        if from_model is not None:
            model = check_model_file(from_model, input_shape=input_shape, n_classes=n_classes)
            _save_model(model, model_path)
            history = pd.DataFrame()
            log("train_from_model", task=task.name, source=str(from_model))
            _write_sidecar(sidecar, chash, cfg, choice, task, 0, time.time() - t0, from_model=str(from_model),
                           n_train=len(parts["train"]))
            return TrainResult(task, model_path, history, seconds=time.time() - t0)

        ckpt = run.checkpoint_dir(task)
        state_path = ckpt / "state.json"
        state = json.loads(state_path.read_text()) if state_path.is_file() else None
        if state and state.get("config_hash") == chash and (ckpt / "model.keras").is_file():
            model = keras.saving.load_model(ckpt / "model.keras")
            start = state["epoch"] + 1
            log("train_resumed", task=task.name, from_epoch=start)
        else:
            shutil.rmtree(ckpt, ignore_errors=True)
            options = {"study_sigmoid": True} if task.model == "alexnet" and cfg["study_sigmoid"] else {}
            model = compile_model(build(task.model, n_classes, input_shape=input_shape, seed=cfg["seed"], **options),
                                  task, cfg, cfg["learning_rate"])
            state = {"config_hash": chash, "epoch": -1, "history": [], "lr": cfg["learning_rate"],
                     "plateau": {"best": None, "wait": 0}, "early": {"best": None, "wait": 0, "epoch": -1},
                     "stopped": False}
            start = 0
        log("train_start", task=task.name, epochs=cfg["epochs"], start=start, train=len(parts["train"]),
            validate=len(parts["validate"]), policy=policy, precision_reason=choice.reason, store=str(store_path))
        resumed_from = start
        uses_callbacks = task.model not in ("alexnet", "audionet")   # the emotion study's plateau and early stop
        val_ds = dataset(reader, parts["validate"], scaling, batch_size=cfg["batch_size"])
        done = 0
        for epoch in range(start, cfg["epochs"]):
            if state["stopped"]:
                break
            model.optimizer.learning_rate.assign(state["lr"])
            _seed_dropout(model, cfg["seed"], epoch)
            train_ds = dataset(reader, parts["train"], scaling, batch_size=cfg["batch_size"],
                               seed=_epoch_seed(cfg["seed"], epoch))
            steps = -(-len(parts["train"]) // cfg["batch_size"])
            bar = _BatchBar(steps, f"{task.name} epoch {epoch + 1}/{cfg['epochs']}", not progress)
            fit = model.fit(train_ds, epochs=1, verbose=0, callbacks=[bar], shuffle=False)
            val = model.evaluate(val_ds, verbose=0, return_dict=True)
            row = {"epoch": epoch, "loss": float(fit.history["loss"][0]),
                   "accuracy": float(fit.history["accuracy"][0]), "val_loss": float(val["loss"]),
                   "val_accuracy": float(val["accuracy"]), "lr": float(state["lr"])}
            if not np.isfinite(row["loss"]):
                # the previous epoch's checkpoint stays; a new learning rate changes the config and starts over
                log("train_diverged", task=task.name, epoch=epoch, loss=str(row["loss"]), lr=float(state["lr"]))
                raise TrainingError(f"{task.name}: training diverged at epoch {epoch + 1} (loss {row['loss']}); "
                                    f"lower train.{task.model}.learning_rate ({state['lr']:g}) or choose "
                                    f"another train.{task.model}.optimizer ({cfg['optimizer']})")
            state["history"].append(row)
            if uses_callbacks:
                _plateau_and_early_stopping(state, row, cfg, model, ckpt)
            state["epoch"] = epoch
            _checkpoint(model, state, ckpt)
            log("epoch_end", task=task.name, **row)
            if progress:
                print(f"{task.name} epoch {epoch + 1}/{cfg['epochs']}: loss {row['loss']:.4f} "
                      f"acc {row['accuracy']:.3f} val_loss {row['val_loss']:.4f} val_acc {row['val_accuracy']:.3f}",
                      flush=True)
            done += 1
            if stop_after is not None and done >= stop_after and epoch + 1 < cfg["epochs"]:
                log("train_interrupted", task=task.name, epoch=epoch)
                return TrainResult(task, ckpt / "model.keras", pd.DataFrame(state["history"]),
                                   resumed_from=resumed_from, seconds=time.time() - t0,
                                   work=work_units(len(parts["train"]), len(parts["validate"]), done))
        if uses_callbacks and state["early"]["epoch"] >= 0 and (ckpt / "best.weights.h5").is_file():
            model.load_weights(ckpt / "best.weights.h5")  # restore_best_weights, as the study
        history = pd.DataFrame(state["history"])
        _save_model(model, model_path)
        write_json_atomic(run.history_path(task, "json"), {"task": task.name, "history": state["history"],
                                                           "stopped_early": state["stopped"],
                                                           "best_epoch": state["early"]["epoch"]})
        write_text_atomic(run.history_path(task, "csv"), history.to_csv(index=False))
        _write_sidecar(sidecar, chash, cfg, choice, task, len(history), time.time() - t0,
                       n_train=len(parts["train"]))
        shutil.rmtree(ckpt, ignore_errors=True)
        if ckpt.parent.is_dir() and not any(ckpt.parent.iterdir()):
            ckpt.parent.rmdir()
        work = work_units(len(parts["train"]), len(parts["validate"]), done)
        log("train_done", task=task.name, epochs=len(history), seconds=round(time.time() - t0, 1), policy=policy,
            **work)
    finally:
        reader.close()
    _plot_history(run, task, history)
    return TrainResult(task, model_path, history, resumed_from=resumed_from, seconds=time.time() - t0, work=work)


def _epoch_seed(seed: int, epoch: int) -> int:
    """The data order of an epoch depends on the seed and the epoch only (not on resumption)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def _seed_dropout(model, seed: int, epoch: int) -> None:
    """Set every random layer's seed state from (seed, epoch, layer): Keras does not save it
    with the model, and a resumed run must draw the same dropout masks as an uninterrupted one."""
    for k, layer in enumerate(model.layers):
        for j, generator in enumerate(getattr(layer, "_seed_generators", [])):
            value = np.random.SeedSequence([seed, epoch, k, j]).generate_state(1)[0] % (2 ** 31)
            generator.state.assign(np.array([value, 0], dtype=generator.state.dtype))


def _plateau_and_early_stopping(state: dict, row: dict, cfg: dict, model, ckpt: Path) -> None:
    """ReduceLROnPlateau(loss, factor, patience) and EarlyStopping(val_loss, patience,
    restore best) as the emotion study configured them, with their state kept in ``state``."""
    plateau = state["plateau"]
    if plateau["best"] is None or row["loss"] < plateau["best"] - 1e-4:
        plateau["best"], plateau["wait"] = row["loss"], 0
    else:
        plateau["wait"] += 1
        if plateau["wait"] >= cfg["plateau_patience"]:
            state["lr"] = state["lr"] * cfg["plateau_factor"]
            plateau["wait"] = 0
    early = state["early"]
    if early["best"] is None or row["val_loss"] < early["best"]:
        early["best"], early["wait"], early["epoch"] = row["val_loss"], 0, row["epoch"]
        _save_weights(model, ckpt / "best.weights.h5")
    else:
        early["wait"] += 1
        if early["wait"] >= cfg["early_stopping_patience"]:
            state["stopped"] = True


def _checkpoint(model, state: dict, ckpt: Path) -> None:
    """Save the model (with optimizer state) and then the loop state, each atomically."""
    ckpt.mkdir(parents=True, exist_ok=True)
    _save_model(model, ckpt / "model.keras")
    write_json_atomic(ckpt / "state.json", state)


def _write_sidecar(path: Path, chash: str, cfg: dict, choice, task: ModelSpec, epochs: int, seconds: float,
                   **extra) -> None:
    from ..provenance import record

    write_json_atomic(path, {"task": task.name, "label": task.label, "fold": task.fold, "model": task.model,
                             "classes": task.classes, "config_hash": chash, "settings": cfg, "precision_policy": choice.policy,
                             "precision_reason": choice.reason,
                             "epochs_trained": epochs, "seconds": round(seconds, 1),
                             "model_sha256": sha256_file(path.with_suffix(".keras")),
                             "provenance": record(), **extra})


def _plot_history(run: Run, task: ModelSpec, history: pd.DataFrame) -> None:
    from ..figures import training as plots_training

    if history.empty:
        return
    for kind in ("loss", "accuracy"):
        plots_training.curve(history, kind, title=f"{task.name}: {kind}", path=run.plot_path(task, kind))
