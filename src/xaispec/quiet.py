"""Keep TensorFlow's start-up lines out of the terminal, the progress bars and the pages.

TensorFlow's C++ runtime writes to file descriptor 2 directly: ``cudart_stub.cc ... Could
not find cuda drivers``, oneDNN's notice and absl's ``WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR``, the last even with
``TF_CPP_MIN_LOG_LEVEL=3``, once in every process that imports it (notebook kernels and
workers included, which inherit descriptor 2). :func:`filter_native_stderr` routes
descriptor 2 through a pipe whose reader drops those lines and passes every other line
on, so real errors still reach the terminal; Python's own ``sys.stderr`` (tracebacks, tqdm
bars) is pointed straight at the terminal and is not delayed.
"""
from __future__ import annotations

import atexit
import io
import os
import re
import sys
import threading

#: lines that are library start-up noise, not news for a user
NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} [\d:.]+\s+\d+ (\w*cuda\w*|cpu_feature_guard|port|gpu_device|computation_placer|service"
    rb"|device_compiler|tf2xla)\.cc:\d+\]"
    rb"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    rb"|This TensorFlow binary is optimized to use available CPU instructions"
    rb"|oneDNN custom operations are on)")

_installed = False


def quiet_environment() -> None:
    """Make TensorFlow less talkative in this process and its children: its C++ log level,
    and its Python logger's (``WARNING:tensorflow:... triggered tf.function retracing`` is
    advice to TensorFlow's programmers, not to a user of ours)."""
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def is_noise(line: bytes | str) -> bool:
    """Whether one line of stderr is library start-up noise."""
    data = line.encode() if isinstance(line, str) else line
    return bool(NOISE.search(data.strip()))


def filter_native_stderr() -> bool:
    """Filter descriptor 2 of this process (and of every child started later); once per process.

    Returns False (and changes nothing) where descriptors cannot be redirected.
    """
    global _installed
    if _installed:
        return True
    quiet_environment()
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except (OSError, AttributeError, ValueError):
        return False
    # Python writes (tracebacks, progress bars) go to the terminal directly, unbuffered
    sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(terminal), "wb", buffering=0), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    thread = threading.Thread(target=_forward, args=(read_end, terminal), name="xaispec-stderr", daemon=True)
    thread.start()

    def close():
        try:
            os.dup2(terminal, 2)  # our end of the pipe closes: the reader sees EOF once children exit
        except OSError:
            pass
        thread.join(timeout=2)

    atexit.register(close)
    _installed = True
    return True


def _forward(read_end: int, terminal: int) -> None:
    pending = b""
    while True:
        try:
            chunk = os.read(read_end, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            if pending and not is_noise(pending):
                _write(terminal, pending)
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        out = b"".join(line + b"\n" for line in lines if not is_noise(line))
        if b"\r" in pending:  # a progress bar redrawing its line: show it now
            head, _, pending = pending.rpartition(b"\r")
            out += head + b"\r"
        if out:
            _write(terminal, out)


def _write(fd: int, data: bytes) -> None:
    try:
        os.write(fd, data)
    except OSError:
        pass
