"""Exit codes are the same in every command (cli/exits.py): a wrong value the user gave
exits with 2, a missing or bad file with 1, each with one line naming the problem."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from xaispec.cli import app
from xaispec.cli.exits import ERROR, FAILED, OK, SKIPPED, USAGE, code_of
from xaispec.errors import CorpusMismatch, DataError, ParameterError


@pytest.fixture()
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    return tmp_path


def test_the_codes_are_distinct():
    assert (OK, ERROR, USAGE, SKIPPED, FAILED) == (0, 1, 2, 3, 4)
    assert code_of(ParameterError("x")) == USAGE
    assert code_of(DataError("x")) == ERROR
    assert code_of(CorpusMismatch("x")) == USAGE  # other sizes than the folder holds: --force rebuilds


WRONG_VALUES = [
    (["profile", "huge"], "unknown profile 'huge'"),
    (["data", "synthesize", "colours"], "kind='colours'"),
    (["data", "index", "nosuchcorpus"], "unknown corpus 'nosuchcorpus'"),
    (["train", "synthetic-digits", "--label", "colour", "--fold", "0"], "label='colour'"),
    (["evaluate", "synthetic-digits", "--label", "colour", "--fold", "0"], "label='colour'"),
    (["info", "predictions", "synthetic-digits", "--label", "colour", "--fold", "0"], "label='colour'"),
    (["explain", "synthetic-digits", "--label", "colour", "--fold", "0"], "label='colour'"),
    (["chapter", "nosuchchapter"], "nosuchchapter"),
    (["chapter", "data", "-p", "label"], "needs a name and a value"),
]


@pytest.mark.parametrize("args,message", WRONG_VALUES, ids=[" ".join(a[:2]) for a, _ in WRONG_VALUES])
def test_a_wrong_value_exits_with_2_in_every_command(project, args, message):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == USAGE, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("xaispec: error:")]
    assert len(errors) == 1 and message in errors[0], res.output


MISSING_FILES = [
    (["data", "index", "audiomnist"], "xaispec data download audiomnist"),
    (["data", "prepare", "audiomnist"], "xaispec data download audiomnist"),
    (["train", "synthetic-digits", "--label", "digit", "--fold", "0"], "xaispec data splits"),
]


@pytest.mark.parametrize("args,message", MISSING_FILES, ids=[" ".join(a[:2]) for a, _ in MISSING_FILES])
def test_a_missing_file_exits_with_1(project, args, message):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == ERROR, res.output
    assert message in res.output
