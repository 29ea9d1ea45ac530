"""The package's layout rules (CONTRIBUTING.md): data flows one way between rooms, no module
uses another module's private names, modules stay short, chapters use public names only."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "xaispec"
CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"

#: the rooms in the order data flows; a module may import from its own room, earlier rooms and the base
ROOMS = ("audio", "figures", "data", "models", "explain", "evaluation", "study", "book", "cli")
BASE = {"errors", "_io", "events", "config", "provenance", "quiet", "_compat", "__init__"}
#: the generic engine beside the rooms: it may import only these
WORKFLOW_MAY_USE = {"errors", "events", "_io"}
MAX_LINES = 400
#: modules allowed over MAX_LINES, with the reason (see CONTRIBUTING.md)
LONG_MODULES: dict[str, str] = {}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def name_of(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    name = name_of(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def is_module(name: str) -> bool:
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path):
    """``(line, imported module, imported name or None)`` of every import of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(path).split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "xaispec":
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                yield (node.lineno, sub, None) if is_module(sub) else (node.lineno, mod, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "xaispec":
                    yield node.lineno, alias.name, None


def allowed(source: str, target: str) -> bool:
    a, b = room(source), room(target)
    if a == b:
        return True
    if a == "workflow":                 # the generic engine knows only errors, events and files
        return b in WORKFLOW_MAY_USE
    if b in BASE:
        return True
    if a in BASE:                       # the base imports only the base
        return False
    if b == "workflow":
        return a in ("book", "cli")
    return b in ROOMS and ROOMS.index(b) < ROOMS.index(a)


def test_data_flows_one_way_between_rooms():
    wrong = [f"{p.relative_to(SRC)}:{line}: {name_of(p)} imports {target}"
             for p in modules() for line, target, _ in imports(p) if not allowed(name_of(p), target)]
    assert not wrong, "\n".join(wrong)


def test_every_module_lives_in_a_room():
    loose = [name_of(p) for p in modules() if room(name_of(p)) not in (*ROOMS, "workflow", *BASE)]
    assert not loose, loose


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_uses_another_modules_private_names():
    """``from .x import _name`` and ``x._name`` are the other module's business; a private module
    (``explain/_model.py``) may be used by its own package (and its subpackages) only."""
    wrong = []
    for p in modules():
        here = package_of(p)
        aliases = {}
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for line, target, name in imports(p):
            if name is not None and private(name):
                wrong.append(f"{p.relative_to(SRC)}:{line}: imports {target}.{name}")
            last = target.rsplit(".", 1)
            if name is None and private(last[-1]) and not (here == last[0] or here.startswith(last[0] + ".")):
                wrong.append(f"{p.relative_to(SRC)}:{line}: imports the private module {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    aliases[alias.asname or alias.name] = alias.name
            if (isinstance(node, ast.Attribute) and private(node.attr) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.value.id not in ("self", "cls")):
                mod = aliases[node.value.id]
                if mod and mod[0].islower():  # an imported module, not a class
                    wrong.append(f"{p.relative_to(SRC)}:{node.lineno}: uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_modules_stay_short():
    long = {name_of(p): n for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES and name_of(p) not in LONG_MODULES}
    assert not long, f"over {MAX_LINES} lines (split them, or state why in LONG_MODULES and CONTRIBUTING.md): {long}"


def chapter_code(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("chapter", sorted(p.name for p in CHAPTERS.glob("*.ipynb")))
def test_chapters_use_public_current_names(chapter):
    from xaispec._compat import MOVED

    tree = ast.parse(chapter_code(CHAPTERS / chapter))
    wrong = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xaispec"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if private(alias.name) or any(private(part) for part in node.module.split(".")):
                    wrong.append(f"private name {full}")
                if node.module in MOVED or full in MOVED:
                    wrong.append(f"old import path {full}")
    assert not wrong, wrong


def test_old_import_paths_still_work_and_say_where_things_went():
    code = ("import warnings, sys; warnings.simplefilter('error')\n"
            "try:\n    from xaispec import runs\nexcept DeprecationWarning as e:\n    print(e)\n"
            "warnings.simplefilter('ignore')\n"
            "from xaispec.runs import Run\nfrom xaispec.models.runs import Run as New\n"
            "from xaispec.train import BatchReader, train\n"
            "from xaispec.info import predictions\nfrom xaispec.study.info import predictions as p2\n"
            "assert Run is New and predictions is p2\n"
            "from xaispec.runs import Task\nfrom xaispec.models.runs import ModelSpec\nassert Task is ModelSpec\n"
            "assert 'tensorflow' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "xaispec.runs moved to xaispec.models.runs" in out


def xaispec_imports(code: str):
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "xaispec" and not node.level:
            for alias in node.names:
                yield node.module, alias.name


BENCHES = sorted((Path(__file__).resolve().parents[1] / "bench").glob("*.py"))


@pytest.mark.parametrize("source", [*(CHAPTERS / c for c in sorted(p.name for p in CHAPTERS.glob("*.ipynb"))),
                                    *BENCHES], ids=lambda p: p.name)
def test_chapters_and_benchmarks_import_names_that_exist(source):
    """A moved or renamed name fails here, not only when the book or a benchmark runs."""
    import importlib
    import warnings

    code = chapter_code(source) if source.suffix == ".ipynb" else source.read_text(encoding="utf-8")
    missing = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module, name in xaispec_imports(code):
            mod = importlib.import_module(module)
            if not hasattr(mod, name) and not is_module(f"{module}.{name}"):
                missing.append(f"{module}.{name}")
    assert not missing, missing


def test_the_data_folder_is_in_git_and_its_contents_are_not():
    """The fixed top level includes ``data/``: a fresh clone has it (with its README), while what
    runs put there (corpora, stores, runs, downloads) is never committed."""
    root = SRC.parent
    tracked = subprocess.run(["git", "ls-files", "data"], cwd=root, capture_output=True, text=True, check=True)
    assert tracked.stdout.split() == ["data/README.md"]
    readme = (root / "data" / "README.md").read_text(encoding="utf-8")
    assert all(f"`{sub}/" in readme for sub in ("raw", "processed", "runs", "downloads"))
    paths = ["data/raw/fsdd/0_jackson_0.wav", "data/processed/fsdd/alexnet.h5", "data/runs/fsdd/events.log",
             "data/downloads/AudioMNIST.zip", "data/anything_else"]
    ignored = subprocess.run(["git", "check-ignore", *paths, "data/README.md"], cwd=root, capture_output=True, text=True)
    assert ignored.stdout.split() == paths
