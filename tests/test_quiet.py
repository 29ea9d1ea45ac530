"""TensorFlow's start-up lines are dropped from descriptor 2; everything else gets through."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from xaispec.quiet import is_noise

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796158877.105036    2219 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "I0000 00:00:1796158877.104463    2219 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "E0000 00:00:1796158877.2 2219 cuda_dnn.cc:8579] Unable to register cuDNN factory",
    "E0000 00:00:1796161429.129041   12717 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations, "
    "rebuild TensorFlow with the appropriate compiler flags.",
]
NEWS = ["xaispec: error: data/raw/x: corpus folder not found", "Traceback (most recent call last):",
        "ValueError: bad value 3", "Segmentation fault in oneDNN kernel"]


def test_noise_and_news_are_told_apart():
    assert all(is_noise(line) for line in NOISE)
    assert not any(is_noise(line) for line in NEWS)


def test_a_process_and_its_children_keep_only_the_news():
    script = textwrap.dedent(f"""
        import os, subprocess, sys
        from xaispec.quiet import filter_native_stderr
        assert filter_native_stderr()
        lines = {NOISE + NEWS!r}
        for line in lines:
            os.write(2, (line + "\\n").encode())  # as C++ code writes: straight to descriptor 2
        print("python stderr line", file=sys.stderr)
        import logging
        logging.basicConfig()
        logging.getLogger("tensorflow").warning("5 out of the last 16 calls triggered tf.function retracing")
        sys.stderr.write("bar 50%\\r")
        child = "import os; os.write(2, {NOISE[0]!r}.encode() + b'\\\\n'); os.write(2, b'child news\\\\n')"
        subprocess.run([sys.executable, "-c", child], check=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    for line in NEWS + ["python stderr line", "child news", "bar 50%"]:
        assert line in err, (line, err)
    for line in NOISE:
        assert line not in err, (line, err)
    assert "retracing" not in err  # TensorFlow's Python logger is quiet too
