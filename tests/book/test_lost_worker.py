"""A process killed with SIGKILL (a lost cluster worker, a parent killed alone) leaves no writer
behind: the processes a task starts -- the book build, a page's notebook kernel -- die with it,
so the rerun of its task never has a second writer beside it. (The preparation pool: test_prepare.)"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat

from xaispec._io import dying_with_this_process

SRC = str(Path(__file__).resolve().parents[2] / "src")


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:   # a zombie has stopped: it only waits to be reaped
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def stops_writing(beat: Path, seconds: float = 2.0) -> bool:
    """The file does not grow over ``seconds`` (its writer beats every 0.1 s)."""
    size = beat.stat().st_size
    time.sleep(seconds)
    return beat.stat().st_size == size


def start_parent(tmp_path: Path, code: str) -> subprocess.Popen:
    """A Python process running ``code`` (as a cluster worker runs a task), in its own group."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": SRC})


LOOP = "echo $$ > writer.pid; while :; do echo x >> beat.txt; sleep 0.1; done"


def test_a_command_started_through_the_launcher_dies_with_the_process_that_started_it(tmp_path):
    for guarded in (False, True):   # the plain command is the control: it outlives its parent
        for name in ("writer.pid", "beat.txt"):
            (tmp_path / name).unlink(missing_ok=True)
        cmd = f"dying_with_this_process({['sh', '-c', LOOP]!r})" if guarded else repr(["sh", "-c", LOOP])
        parent = start_parent(tmp_path, f"""
            import subprocess
            from xaispec._io import dying_with_this_process
            subprocess.run({cmd})
        """)
        assert wait_for(lambda: (tmp_path / "beat.txt").is_file() and (tmp_path / "writer.pid").stat().st_size)
        writer = int((tmp_path / "writer.pid").read_text())
        parent.send_signal(signal.SIGKILL)   # the parent alone, not its group: as a worker is lost
        parent.wait()
        try:
            if guarded:
                assert wait_for(lambda: not alive(writer)), "the command outlived the process that started it"
                assert stops_writing(tmp_path / "beat.txt")
            else:
                assert alive(writer) and not stops_writing(tmp_path / "beat.txt")
        finally:
            if alive(writer):
                os.kill(writer, signal.SIGKILL)


def test_the_launcher_runs_the_command_itself_with_its_exit_code(tmp_path):
    proc = subprocess.run(dying_with_this_process(["sh", "-c", "echo $0 $1; exit 3", "a", "b c"]),
                          capture_output=True, text=True)
    assert proc.returncode == 3 and proc.stdout == "a b c\n"


def test_a_page_kernel_dies_with_the_process_that_executes_the_page_and_the_rerun_writes_the_page(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell("beats = 3")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A page"), params, nbformat.v4.new_code_cell(textwrap.dedent("""
        import os, time
        open("kernel.pid", "w").write(str(os.getpid()))
        for _ in range(beats):
            open("beat.txt", "a").write("x\\n")
            time.sleep(0.1)
        print("done")
    """))]
    source = tmp_path / "page.ipynb"
    nbformat.write(nb, source)
    out = tmp_path / "book" / "page.ipynb"

    def execute(beats: int):
        return start_parent(tmp_path, f"""
            from xaispec.book.execute import step_chapter
            step_chapter({str(source)!r}, {str(out)!r}, {{"beats": {beats}}}, {str(tmp_path)!r}, 600, "page")
        """)

    parent = execute(100_000)
    pid_file = tmp_path / "book" / "kernel.pid"   # the page runs in its output folder
    assert wait_for(lambda: pid_file.is_file() and pid_file.stat().st_size and (tmp_path / "book/beat.txt").is_file())
    kernel = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    try:
        assert wait_for(lambda: not alive(kernel)), "the kernel outlived the process executing its page"
    finally:
        if alive(kernel):
            os.killpg(os.getpgid(kernel), signal.SIGKILL)
    assert stops_writing(tmp_path / "book/beat.txt")
    assert not out.exists()   # nothing half-written in the page's place
    rerun = execute(3)
    assert rerun.wait(timeout=300) == 0
    page = nbformat.read(out, as_version=4)
    assert page.cells[-1].outputs[0]["text"] == "done\n"
