"""The book's own tasks: execute one page with papermill, build the book with Jupyter Book.

Both are module-level functions called as task functions of the book's graph
(:mod:`xaispec.book.plan`), so they pickle by reference for a cluster.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .._io import dying_with_this_process, write_text_atomic
from ..errors import DataError, XaispecError


class ChapterError(XaispecError):
    """A chapter's cell failed; the message names the page, the cell and the error."""


def kernel_env(root: str) -> None:
    """Set the environment the page kernels inherit: the project root, quiet TensorFlow and
    warnings, inline Matplotlib."""
    os.environ["XAISPEC_ROOT"] = str(root)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"


def _first_line(text: str, limit: int = 300) -> str:
    """The first line of ``text`` without terminal colours, at most ``limit`` characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return (text.splitlines()[0] if text else "")[:limit]


def step_chapter(source: str, output: str, params: dict, root: str, timeout: int, stem: str,
                 title: str | None = None) -> dict:
    """Execute one page with papermill into ``book/``.

    The page is executed under ``book/.work/`` and moved into place only when every cell
    ran. Then the cells tagged ``parameters`` and ``injected-parameters`` are tagged
    ``remove-cell`` (the page's first cell shows its parameters), the other code cells
    ``hide-input`` (a button shows the code), stderr outputs are dropped and the first
    heading becomes ``title``. A failing page is kept as ``book/_failed/<page>.ipynb``
    and :class:`ChapterError` names the cell and error.

    Parameters
    ----------
    source, output : str
        The chapter source and the page to write.
    params : dict
        The page's notebook parameters.
    root : str
        The project root (the kernels' ``XAISPEC_ROOT``).
    timeout : int
        Seconds a cell may run.
    stem : str
        The page's path under ``book/`` without suffix.
    title : str, optional
        The page's title, replacing the source's first heading.
    """
    import nbformat
    import papermill as pm

    output = Path(output)
    book_dir = Path(root) / "book"
    work = book_dir / ".work" / f"{stem}.ipynb"
    work.parent.mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    kernel_env(root)
    try:
        pm.execute_notebook(source, str(work), parameters=params, cwd=str(output.parent), kernel_name="python3",
                            progress_bar=False, log_output=False, execution_timeout=timeout,
                            report_mode=False, request_save_on_cell_execute=False,
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except pm.PapermillExecutionError as exc:
        failed = book_dir / "_failed" / f"{stem}.ipynb"
        failed.parent.mkdir(parents=True, exist_ok=True)
        if work.is_file():
            os.replace(work, failed)
        output.unlink(missing_ok=True)
        source_line = _first_line(exc.source, 120)
        raise ChapterError(f"page {stem}: cell {exc.exec_count} ({source_line!r}) failed: "
                           f"{exc.ename}: {_first_line(exc.evalue)} (executed copy: {failed})") from None
    except Exception as exc:
        output.unlink(missing_ok=True)
        raise ChapterError(f"page {stem}: could not be executed: {type(exc).__name__}: {_first_line(exc)}") from None
    nb = nbformat.read(work, as_version=4)
    titled = title is None
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            cell.metadata["tags"] = sorted(set(tags) | {"remove-cell"})
        elif cell.cell_type == "code":
            cell.metadata["tags"] = sorted(set(tags) | {"hide-input"})
        if not titled and cell.cell_type == "markdown" and re.match(r"#\s", cell.source):
            cell.source = re.sub(r"^#\s.*$", f"# {title}", cell.source, count=1, flags=re.M)
            titled = True
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, str(work))
    os.replace(work, output)
    (book_dir / "_failed" / f"{stem}.ipynb").unlink(missing_ok=True)
    return {"page": stem}


def step_build(root: str) -> dict:
    """``jupyter-book build <root> --all -W --keep-going``; the log is ``_build/build.log``.

    Always from a fresh Sphinx environment (``--all``): rendering executed pages takes
    seconds, and an incremental build can keep the labels of a page executed again, which
    ``-W`` turns into errors.

    Raises
    ------
    DataError
        The build failed or warned; the message quotes the first warnings.
    """
    root_dir = Path(root)
    if not (root_dir / "_config.yml").is_file() or not (root_dir / "_toc.yml").is_file():
        raise DataError(f"{root_dir}: _config.yml and _toc.yml are needed to build the book")
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.is_file() else (shutil.which("jupyter-book") or "jupyter-book"),
           "build", str(root_dir), "--all", "-W", "--keep-going"]
    env = dict(os.environ, XAISPEC_ROOT=str(root_dir))
    log = root_dir / "_build" / "build.log"
    t0 = time.perf_counter()
    # the build dies with this process: a lost cluster worker's build never writes _build/ beside its rerun's
    proc = subprocess.run(dying_with_this_process(cmd), cwd=root_dir, capture_output=True, text=True, env=env)
    write_text_atomic(log, proc.stdout + "\n" + proc.stderr)
    if proc.returncode == 0:
        index = root_dir / "_build" / "html" / "index.html"
        text = index.read_text(encoding="utf-8") if index.is_file() else ""
        if text and "rel=\"icon\"" not in text and (index.parent / "_static" / "favicon.svg").is_file():
            # Jupyter Book's redirecting index.html has no icon: the browser would ask for /favicon.ico
            link = '<link rel="icon" href="_static/favicon.svg" />'
            write_text_atomic(index, text.replace("<head>", "<head>" + link, 1) if "<head>" in text
                              else link + "\n" + text)
        return {"seconds": round(time.perf_counter() - t0, 1), "html": str(index)}
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + "\n" + proc.stderr)
    warnings = [line for line in text.splitlines() if re.search(r"WARNING|ERROR|Error|error:", line)]
    first = "; ".join(w.strip() for w in warnings[:3]) or _first_line(text.strip().splitlines()[-1] if text.strip() else "")
    raise DataError(f"jupyter-book build failed (exit {proc.returncode}): {first[:800]} (full log: {log})")
