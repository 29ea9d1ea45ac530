"""The precision ``train.mixed_precision: auto`` picks, on faked processors and GPUs; reading
processor features; the probe answered once per machine; the profiles' settings."""
from __future__ import annotations

import json

import pytest

from xaispec.config import load_profile
from xaispec.errors import ParameterError
from xaispec.models.machine import Processor, decide_precision, parse_cpuinfo

X86_AMX = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
"""
X86_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu sse2 avx avx2 fma
"""
ARM_BF16 = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes sha1 sha2 crc32 atomics fphp asimdhp cpuid bf16 i8mm
CPU implementer\t: 0x41
"""


def cpu(*flags, model="test CPU", cores=2):
    return Processor(model, "x86_64", frozenset(flags), cores)


AVX2 = cpu("avx2")
AVX512_BF16 = cpu("avx2", "avx512f", "avx512_bf16", model="Intel Xeon (Cooper Lake)")
AMX = cpu("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", model="Intel Xeon (Sapphire Rapids)")


def never():
    raise AssertionError("the probe must not run here")


@pytest.fixture()
def cache(tmp_path):
    return tmp_path / "precision.json"


def test_cpuinfo_flags_are_read_for_x86_and_arm():
    model, flags = parse_cpuinfo(X86_AMX)
    assert model == "Intel(R) Xeon(R) Platinum 8480+"
    assert {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"} <= flags
    model, flags = parse_cpuinfo(X86_AVX2)
    assert model == "AMD EPYC 7B12" and "avx2" in flags and "avx512f" not in flags and "amx_bf16" not in flags
    _, flags = parse_cpuinfo(ARM_BF16)
    assert "bf16" in flags and "asimd" in flags


@pytest.mark.parametrize("text, native", [(X86_AMX, "amx"), (X86_AVX2, None), (ARM_BF16, "vector")])
def test_native_bfloat16_from_the_features(text, native):
    model, flags = parse_cpuinfo(text)
    assert Processor(model, "x", flags).native_bfloat16 == native


def test_amx_gets_bfloat16_without_a_probe(cache):
    p = decide_precision("auto", cpu=AMX, gpus=[], probe=never, cache=cache)
    assert p.policy == "mixed_bfloat16" and "AMX" in p.reason
    assert not cache.exists()


def test_a_cpu_without_native_bfloat16_gets_float32(cache):
    p = decide_precision("auto", cpu=AVX2, gpus=[], probe=never, cache=cache)
    assert p.policy == "float32" and "no native bfloat16" in p.reason


def test_a_gpu_gets_float16_whatever_the_cpu(cache):
    for c in (AVX2, AVX512_BF16, AMX):
        p = decide_precision("auto", cpu=c, gpus=["/physical_device:GPU:0"], probe=never, cache=cache)
        assert p.policy == "mixed_float16" and "GPU" in p.reason
    assert decide_precision(True, cpu=AVX2, gpus=["gpu0"], probe=never, cache=cache).policy == "mixed_float16"


def test_true_and_false_still_force_the_policy(cache):
    assert decide_precision(False, cpu=AMX, gpus=[], probe=never, cache=cache).policy == "float32"
    forced = decide_precision(True, cpu=AVX2, gpus=[], probe=never, cache=cache)
    assert forced.policy == "mixed_bfloat16" and "emulated" in forced.reason
    assert "emulated" not in decide_precision(True, cpu=AMX, gpus=[], probe=never, cache=cache).reason


def test_avx512_bf16_without_amx_is_probed_once_and_cached_per_machine(cache):
    calls = []

    def probe():
        calls.append(1)
        return 1.6

    first = decide_precision("auto", cpu=AVX512_BF16, gpus=[], probe=probe, cache=cache)
    assert first.policy == "mixed_bfloat16" and "1.60x" in first.reason and len(calls) == 1
    again = decide_precision("auto", cpu=AVX512_BF16, gpus=[], probe=never, cache=cache)
    assert again.policy == "mixed_bfloat16" and "cached" in again.reason
    stored = json.loads(cache.read_text())
    assert stored[AVX512_BF16.identity]["ratio"] == 1.6
    # another machine (other cores or model) is measured on its own
    other = cpu("avx2", "avx512f", "avx512_bf16", model="Intel Xeon (Cooper Lake)", cores=4)
    assert other.identity != AVX512_BF16.identity
    decide_precision("auto", cpu=other, gpus=[], probe=probe, cache=cache)
    assert len(calls) == 2 and len(json.loads(cache.read_text())) == 2


def test_a_probe_that_finds_bfloat16_slower_keeps_float32(cache):
    p = decide_precision("auto", cpu=AVX512_BF16, gpus=[], probe=lambda: 0.7, cache=cache)
    assert p.policy == "float32" and "0.70x" in p.reason
    # a ratio just above 1 is within the margin: not worth the lost precision
    other = cpu("avx512_bf16", model="other")
    assert decide_precision("auto", cpu=other, gpus=[], probe=lambda: 1.05, cache=cache).policy == "float32"


def test_without_a_probe_or_with_a_damaged_cache(cache):
    assert decide_precision("auto", cpu=AVX512_BF16, gpus=[], probe=None, cache=cache).policy == "float32"
    cache.write_text("{not json")
    p = decide_precision("auto", cpu=AVX512_BF16, gpus=[], probe=lambda: 2.0, cache=cache)
    assert p.policy == "mixed_bfloat16" and json.loads(cache.read_text())[AVX512_BF16.identity]["ratio"] == 2.0


@pytest.mark.parametrize("bad", ["yes", 1, 0, None, "True"])
def test_bad_settings_are_refused(cache, bad):
    with pytest.raises(ParameterError, match="train.mixed_precision"):
        decide_precision(bad, cpu=AMX, gpus=[], cache=cache)


def test_every_profile_defaults_to_auto_and_profiles_accept_the_three_values(tmp_path):
    for name in ("smoke", "quick", "full"):
        assert load_profile(name).get("train.mixed_precision") == "auto"
    for value, text in ((True, "true"), (False, "false"), ("auto", "auto")):
        path = tmp_path / f"p_{text}.yaml"
        path.write_text(f"train:\n  mixed_precision: {text}\n")
        assert load_profile(path).get("train.mixed_precision") is value or load_profile(path).get(
            "train.mixed_precision") == value
    for text in ("yes please", "1", "fast"):
        path = tmp_path / "bad.yaml"
        path.write_text(f"train:\n  mixed_precision: {text}\n")
        with pytest.raises(ParameterError, match="mixed_precision"):
            load_profile(path)


def test_features_shown_are_those_of_the_processor_kind():
    assert set(AMX.features) == {"avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}
    model, flags = parse_cpuinfo(ARM_BF16)
    arm = Processor(model, "aarch64", flags)
    assert arm.features == {"asimd": True, "sve": False, "bf16": True}


def test_xaispec_system_reports_this_machine(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from xaispec.models.machine import processor

    exe = Path(sys.executable).with_name("xaispec")
    proc = subprocess.run([str(exe), "system", "--json", "--seconds", "0.2"], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path, env={**__import__("os").environ, "XAISPEC_CACHE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["processor"] == processor().model and rep["cores"] == processor().cores
    assert rep["precision"]["policy"] in ("float32", "mixed_bfloat16", "mixed_float16") and rep["precision"]["reason"]
    policies = [t["policy"] for t in rep["throughput"]]
    assert policies[0] == "float32"
    assert ("mixed_bfloat16" in policies) == bool(processor().native_bfloat16) or rep["gpus"]
    for t in rep["throughput"]:
        assert t["train"] > 0 and t["infer"] > 0
    assert "absl" not in proc.stderr and "cudart" not in proc.stderr
    text = subprocess.run([str(exe), "system", "--no-probe"], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path).stdout
    assert "precision (auto)" in text and rep["precision"]["policy"] in text and "images/s" not in text


def test_features_tensorflow_is_told_not_to_use_do_not_count():
    from xaispec.models.machine import usable_flags

    flags = AMX.flags
    assert usable_flags(flags, {}) == (flags, "")
    capped, note = usable_flags(flags, {"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert capped == {"avx2"} and "ONEDNN_MAX_CPU_ISA=AVX2" in note
    capped, _ = usable_flags(flags, {"ONEDNN_MAX_CPU_ISA": "avx512_core_bf16"})
    assert "avx512_bf16" in capped and "amx_bf16" not in capped
    assert usable_flags(flags, {"ONEDNN_MAX_CPU_ISA": "AVX10_1_512_AMX"})[0] == flags
    off, note = usable_flags(flags, {"TF_ENABLE_ONEDNN_OPTS": "0"})
    assert off == {"avx2", "avx512f"} and "TF_ENABLE_ONEDNN_OPTS=0" in note
    capped_cpu = Processor(AMX.model, AMX.machine, usable_flags(flags, {"ONEDNN_MAX_CPU_ISA": "AVX2"})[0])
    assert decide_precision("auto", cpu=capped_cpu, gpus=[], probe=never).policy == "float32"
