"""The machine a run is on: processor features, GPUs, and the training precision they call for.

``train.mixed_precision: auto`` (every profile's default) becomes, by :func:`decide_precision`:

* ``mixed_float16`` when TensorFlow sees a GPU;
* ``mixed_bfloat16`` on a CPU with AMX-BF16 (matrix units that run bfloat16 natively:
  measured here about 3x float32's images/s for the AlexNet);
* on a CPU with bfloat16 vector instructions but no matrix units (AVX512-BF16 on x86,
  ``bf16`` on ARM), what a short probe finds faster, measured once per machine and cached
  with the machine's identity;
* ``float32`` otherwise: without native bfloat16 TensorFlow emulates it, measured about
  9x slower than float32 on an AVX2 CPU.

``true`` and ``false`` still force mixed precision on or off. Reading the features does not
import TensorFlow; only the GPU query, the probe and :func:`throughput` do.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .._io import write_json_atomic
from ..errors import ParameterError

#: processor features that decide the precision or explain its speed (Linux /proc/cpuinfo names)
FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "bf16")
#: those an ARM processor can have (the others are x86's)
ARM_FEATURES = ("asimd", "sve", "bf16")
#: the setting's allowed values
SETTINGS = ("auto", True, False)
#: bfloat16 must be this much faster than float32 in the probe to be chosen
PROBE_MARGIN = 1.1


@dataclass(frozen=True)
class Processor:
    """What the operating system says of the processor: ``model`` name, ``machine``
    (``x86_64``, ``arm64``, ...), the lower-case feature ``flags`` and usable ``cores``."""

    model: str
    machine: str
    flags: frozenset = field(default_factory=frozenset)
    cores: int = 1
    #: features present but hidden from TensorFlow by its settings (see :func:`usable_flags`)
    note: str = ""

    def has(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def features(self) -> dict[str, bool]:
        """The features that matter on this kind of processor, each present or not."""
        arm = self.machine.lower() in ("aarch64", "arm64") or "asimd" in self.flags
        return {f: f in self.flags for f in (ARM_FEATURES if arm else FEATURES[:-1])}

    @property
    def native_bfloat16(self) -> str | None:
        """``"amx"`` (matrix units), ``"vector"`` (bfloat16 instructions only) or None."""
        if self.has("amx_bf16"):
            return "amx"
        if self.has("avx512_bf16") or self.has("bf16"):
            return "vector"
        return None

    @property
    def identity(self) -> str:
        """A short hash of model, machine, flags and cores: the key of cached probe results."""
        text = json.dumps([self.model, self.machine, sorted(self.flags), self.cores])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_cpuinfo(text: str) -> tuple[str, frozenset]:
    """Model name and flags from the text of Linux ``/proc/cpuinfo`` (x86 ``flags``, ARM ``Features``)."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu model", "hardware") and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model, frozenset(f.lower() for f in flags)


def _sysctl(name: str) -> str:
    try:
        return subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _macos() -> tuple[str, frozenset]:
    model = _sysctl("machdep.cpu.brand_string")
    words = f"{_sysctl('machdep.cpu.features')} {_sysctl('machdep.cpu.leaf7_features')}".lower().split()
    flags = {w.replace("avx512bf16", "avx512_bf16").replace(".", "_") for w in words}
    if _sysctl("hw.optional.arm.FEAT_BF16") == "1":
        flags.add("bf16")
    return model, frozenset(flags)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: oneDNN's x86 instruction-set levels in order; ``ONEDNN_MAX_CPU_ISA`` caps what it uses
ONEDNN_ISAS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
               "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16")
_ISA_ALIASES = {"AVX10_1_512": "AVX512_CORE_FP16", "AVX10_1_512_AMX": "AVX512_CORE_AMX",
                "AVX10_1_512_AMX_FP16": "AVX512_CORE_AMX_FP16"}
#: the lowest oneDNN level that uses each feature
_NEEDS = {"avx512f": "AVX512_CORE", "avx512_bf16": "AVX512_CORE_BF16", "amx_tile": "AVX512_CORE_AMX",
          "amx_bf16": "AVX512_CORE_AMX"}


def usable_flags(flags: frozenset, env: dict | None = None) -> tuple[frozenset, str]:
    """``flags`` less those TensorFlow's oneDNN is told not to use, and a note saying so.

    ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``) below a feature's level hides it, and
    ``TF_ENABLE_ONEDNN_OPTS=0`` hides native bfloat16 altogether (oneDNN is then off).
    """
    env = os.environ if env is None else env
    hidden = set()
    cap = (env.get("ONEDNN_MAX_CPU_ISA") or env.get("DNNL_MAX_CPU_ISA") or "").strip().upper()
    cap = _ISA_ALIASES.get(cap, cap)
    if cap in ONEDNN_ISAS:
        hidden |= {f for f, level in _NEEDS.items()
                   if f in flags and ONEDNN_ISAS.index(level) > ONEDNN_ISAS.index(cap)}
    notes = [f"ONEDNN_MAX_CPU_ISA={cap} hides {', '.join(sorted(hidden))}"] if hidden else []
    if env.get("TF_ENABLE_ONEDNN_OPTS", "").strip() == "0":
        off = {f for f in ("avx512_bf16", "amx_bf16", "amx_tile", "bf16") if f in flags} - hidden
        hidden |= off
        if off:
            notes.append(f"TF_ENABLE_ONEDNN_OPTS=0 hides {', '.join(sorted(off))}")
    return frozenset(flags - hidden), "; ".join(notes)


@functools.lru_cache(maxsize=1)
def processor() -> Processor:
    """This machine's processor as TensorFlow can use it (read once per process; unknown
    features read as absent; see :func:`usable_flags`)."""
    model, flags = "", frozenset()
    if sys.platform.startswith("linux"):
        try:
            model, flags = parse_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
        except OSError:
            pass
    elif sys.platform == "darwin":
        model, flags = _macos()
    flags, note = usable_flags(flags)
    return Processor(model or platform.processor() or "unknown", platform.machine(), flags, _usable_cores(), note)


# ---------------------------------------------------------------- the decision

@dataclass(frozen=True)
class Precision:
    """The Keras precision ``policy`` chosen, the ``setting`` it came from and ``reason``."""

    policy: str
    reason: str
    setting: object = "auto"

    def as_dict(self) -> dict:
        return {"policy": self.policy, "reason": self.reason, "setting": self.setting}


def check_setting(setting) -> object:
    """``setting`` if it is one of ``auto``, ``true``, ``false``; else a ParameterError."""
    if not any(setting is s or (isinstance(setting, str) and setting == s) for s in SETTINGS):
        raise ParameterError(f"train.mixed_precision = {setting!r} is not one of auto, true, false")
    return setting


def decide_precision(setting, *, cpu: Processor, gpus: list[str],
                     probe: Callable[[], float] | None = None, cache: Path | None = None) -> Precision:
    """The precision policy for ``setting`` on this ``cpu`` with these ``gpus``.

    Parameters
    ----------
    setting : {"auto", True, False}
    cpu : Processor
    gpus : list of str
        Names of the GPUs TensorFlow sees.
    probe : callable, optional
        Returns bfloat16's training throughput divided by float32's; called only for a CPU
        with bfloat16 vector instructions but no AMX, and only when ``cache`` has no answer
        for this machine (then the answer is stored there). Without it such a CPU gets float32.
    cache : Path, optional
        JSON file of probe answers by :attr:`Processor.identity` (default :func:`cache_path`).
    """
    check_setting(setting)
    if setting is False:
        return Precision("float32", "train.mixed_precision is false", setting)
    if setting is True:
        if gpus:
            return Precision("mixed_float16", f"train.mixed_precision is true and a GPU is visible ({gpus[0]})", setting)
        note = "" if cpu.native_bfloat16 else ": this CPU has no native bfloat16, so it is emulated (slow)"
        return Precision("mixed_bfloat16", f"train.mixed_precision is true{note}", setting)
    if gpus:
        return Precision("mixed_float16", f"a GPU is visible ({gpus[0]})", setting)
    native = cpu.native_bfloat16
    if native == "amx":
        return Precision("mixed_bfloat16", "the CPU has AMX-BF16 (native bfloat16 matrix units)", setting)
    if native is None:
        return Precision("float32", "the CPU has no native bfloat16 (neither AMX-BF16 nor AVX512-BF16)", setting)
    ratio, when = _probe_answer(cpu, probe, cache or cache_path())
    if ratio is None:
        return Precision("float32", "the CPU has bfloat16 instructions but no AMX and no probe was run", setting)
    faster = ratio >= PROBE_MARGIN
    verdict = "chosen" if faster else f"not faster by {PROBE_MARGIN}x"
    return Precision("mixed_bfloat16" if faster else "float32",
                     f"the CPU has bfloat16 instructions but no AMX: a probe ({when}) measured bfloat16 at "
                     f"{ratio:.2f}x float32's training images/s ({verdict})", setting)


def cache_path() -> Path:
    """Where probe answers are kept: ``$XAISPEC_CACHE`` or ``~/.cache/xaispec``, file ``precision.json``."""
    base = os.environ.get("XAISPEC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "xaispec")
    return Path(base) / "precision.json"


def _probe_answer(cpu: Processor, probe, cache: Path) -> tuple[float | None, str]:
    try:
        known = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    except ValueError:
        known = {}  # a damaged cache is measured again
    entry = known.get(cpu.identity)
    if entry and "ratio" in entry:
        return float(entry["ratio"]), f"cached, {entry.get('measured', '?')}"
    if probe is None:
        return None, ""
    ratio = float(probe())
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    known[cpu.identity] = {"ratio": round(ratio, 3), "measured": measured, "processor": cpu.model}
    try:
        write_json_atomic(cache, known)
    except OSError:
        pass  # a read-only home: the answer holds for this process only
    return ratio, f"run {measured}"


# ---------------------------------------------------------------- TensorFlow's side

def visible_gpus() -> list[str]:
    """Names of the GPUs TensorFlow sees (imports TensorFlow)."""
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def precision(setting="auto", *, probe: bool = True) -> Precision:
    """:func:`decide_precision` for this machine, probing (and caching) where it must."""
    return decide_precision(setting, cpu=processor(), gpus=visible_gpus(),
                            probe=probe_bfloat16 if probe else None)


def probe_bfloat16(seconds: float = 3.0) -> float:
    """bfloat16's AlexNet training images/s divided by float32's, measured here (a few seconds)."""
    fp32 = throughput("float32", seconds=seconds / 2, infer=False)["train"]
    bf16 = throughput("mixed_bfloat16", seconds=seconds / 2, infer=False)["train"]
    return bf16 / fp32 if fp32 > 0 else 0.0


def throughput(policy: str, *, seconds: float = 2.0, batch: int = 8, infer: bool = True) -> dict:
    """AlexNet (227 x 227 x 1, 10 classes) images/s under ``policy``: ``train`` (train_on_batch)
    and ``infer`` (predict_on_batch), each timed over whole batches for at least ``seconds``
    after one warm-up batch. The global Keras policy is restored afterwards."""
    import keras
    import numpy as np

    from .architectures import build

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch, 227, 227, 1)).astype("float32")
        y = rng.integers(0, 10, size=batch)
        model = build("alexnet", 10, input_shape=(227, 227, 1))
        model.compile(optimizer=keras.optimizers.SGD(0.001), loss="sparse_categorical_crossentropy")
        out = {"policy": policy, "batch": batch, "train": _rate(lambda: model.train_on_batch(x, y), batch, seconds)}
        if infer:
            out["infer"] = _rate(lambda: model.predict_on_batch(x), batch, seconds)
        return out
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _rate(step: Callable[[], object], batch: int, seconds: float) -> float:
    step()  # warm-up: tracing and oneDNN's first-call set-up
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


def report(*, seconds: float = 2.0, probe: bool = True) -> dict:
    """Everything ``xaispec system`` prints: processor, features, cores, GPUs, the precision
    ``auto`` picks and why, and (with ``probe``) AlexNet throughput in float32 and, where the
    CPU runs it natively or a GPU is visible, in the mixed policy."""
    import tensorflow as tf

    cpu = processor()
    choice = precision("auto", probe=probe)
    out = {"processor": cpu.model, "machine": cpu.machine, "features": cpu.features, "features_note": cpu.note,
           "cores": cpu.cores,
           "memory_gib": _memory_gib(), "system": f"{platform.system()} {platform.release()}",
           "tensorflow": tf.__version__,
           "tensorflow_threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads() or cpu.cores,
                                  "inter_op": tf.config.threading.get_inter_op_parallelism_threads() or cpu.cores},
           "gpus": visible_gpus(), "precision": choice.as_dict(), "throughput": []}
    if probe:
        policies = ["float32"]
        if out["gpus"]:
            policies.append("mixed_float16")
        elif cpu.native_bfloat16:
            policies.append("mixed_bfloat16")
        for policy in policies:
            out["throughput"].append(throughput(policy, seconds=seconds))
    return out


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def report_rows(rep: dict) -> list[tuple[str, str]]:
    """:func:`report` as (item, value) rows, for a terminal or a table."""
    feats = ", ".join(f"{name.upper().replace('_', '-')} {'yes' if on else 'no'}" for name, on in rep["features"].items())
    if rep.get("features_note"):
        feats += f" ({rep['features_note']})"
    rows = [("processor", f"{rep['processor']} ({rep['machine']})"), ("features", feats),
            ("cores", f"{rep['cores']} usable; TensorFlow uses {rep['tensorflow_threads']['intra_op']} intra-op and "
                      f"{rep['tensorflow_threads']['inter_op']} inter-op threads"),
            ("memory", f"{rep['memory_gib']} GiB" if rep.get("memory_gib") else "unknown"),
            ("system", f"{rep['system']}, TensorFlow {rep['tensorflow']}"),
            ("GPUs", ", ".join(rep["gpus"]) or "none seen by TensorFlow"),
            ("precision (auto)", f"{rep['precision']['policy']}: {rep['precision']['reason']}")]
    for t in rep["throughput"]:
        infer = f", inference {t['infer']:.1f}" if "infer" in t else ""
        rows.append((f"AlexNet images/s, {t['policy']}", f"training {t['train']:.1f}{infer} (batch {t['batch']})"))
    if len(rep["throughput"]) == 2:
        a, b = rep["throughput"]
        rows.append((f"{b['policy']} / {a['policy']}", f"training {b['train'] / a['train']:.2f}x"
                     + (f", inference {b['infer'] / a['infer']:.2f}x" if "infer" in a and "infer" in b else "")))
    return rows


def report_lines(rep: dict) -> list[str]:
    """:func:`report` as aligned lines of text."""
    rows = report_rows(rep)
    width = max(len(k) for k, _ in rows)
    return [f"{k:<{width}}  {v}" for k, v in rows]
