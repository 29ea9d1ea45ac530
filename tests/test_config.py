from pathlib import Path

import numpy as np
import pytest

import xaispec
from xaispec.config import Paths, load_profile, project_root
from xaispec.errors import ParameterError


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, xaispec, xaispec.cli, xaispec.data.prepare; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["smoke", "quick", "full"])
def test_profiles_load_and_validate(name):
    p = load_profile(name)
    assert p.name == name
    assert p.get("prepare.mode") in ("exact", "fast")
    assert p.get("synthetic.digits.participants") == 60


def test_profiles_differ_in_size():
    sizes = [load_profile(n).get("synthetic.digits.repetitions") for n in ("smoke", "quick", "full")]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_unknown_profile_lists_valid(tmp_path):
    with pytest.raises(ParameterError, match="'tiny'.*smoke"):
        load_profile("tiny")


def test_profile_file_errors_name_key_and_value(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("prepare:\n  mdoe: fast\n")
    with pytest.raises(ParameterError, match="mine.yaml.*'prepare.mdoe'"):
        load_profile(bad)
    bad.write_text("prepare:\n  mode: fastest\n")
    with pytest.raises(ParameterError, match="'fastest'"):
        load_profile(bad)
    bad.write_text("prepare:\n  workers: two\n")
    with pytest.raises(ParameterError, match="must be int, got 'two'"):
        load_profile(bad)
    bad.write_text("prepare:\n  workers: 0\n")
    with pytest.raises(ParameterError, match="at least 1"):
        load_profile(bad)
    bad.write_text("name: mine\nprepare:\n  mode: fast\n")
    assert load_profile(bad).get("prepare.mode") == "fast"


def test_overrides_are_validated():
    p = load_profile("smoke").with_overrides({"prepare.mode": "fast"})
    assert p.get("prepare.mode") == "fast"
    with pytest.raises(ParameterError):
        p.with_overrides({"prepare.long_clips": "drop"})


def test_paths_derive_from_one_root(tmp_path, monkeypatch):
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    paths = Paths.default()
    assert paths.root == tmp_path.resolve()
    assert paths.store("fsdd", "alexnet") == tmp_path.resolve() / "data/processed/fsdd/alexnet.h5"
    assert not (tmp_path / "data").exists()  # nothing is created by computing paths


def test_project_root_found_from_subfolder(monkeypatch):
    monkeypatch.delenv("XAISPEC_ROOT", raising=False)
    here = project_root()
    monkeypatch.chdir(here / "src" / "xaispec")
    assert project_root() == here
    assert isinstance(xaispec.__version__, str)


def test_provenance_names_the_checkout_commit(tmp_path):
    import subprocess

    from xaispec.provenance import git_commit, record, start_git_commit

    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    if not head:
        pytest.skip("not a git checkout")
    commit = git_commit(root)
    assert commit in (head, head + "+dirty")
    assert start_git_commit(root)() == commit
    assert git_commit(tmp_path) == "unknown"           # outside any checkout
    rec = record(root, commit="abc")
    assert rec["git_commit"] == "abc" and rec["versions"]["numpy"] == np.__version__


def test_explainer_parameters_per_model_and_method(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("book:\n  explainer_params:\n    alexnet:\n      lime: {num_samples: 30}\n")
    assert load_profile(path).get("book.explainer_params") == {"alexnet": {"lime": {"num_samples": 30}}}
    assert load_profile("quick").get("book.explainer_params")["alexnet"]["lime"]["num_samples"] == 100
    for text, message in (("    resnet:\n      lime: {num_samples: 30}\n", "resnet is not a model"),
                          ("    alexnet:\n      lime: 30\n", "must map methods to parameter mappings"),
                          ("    - alexnet\n", "must be a mapping of models")):
        path.write_text("book:\n  explainer_params:\n" + text)
        with pytest.raises(ParameterError, match=message):
            load_profile(path)
