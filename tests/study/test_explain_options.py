"""The explain stage's options: defaults, validation with one-line messages, copies with changes."""
from __future__ import annotations

from pathlib import Path

import pytest

from xaispec.errors import ParameterError
from xaispec.models.runs import ModelSpec
from xaispec.study.options import DEFAULT_METHODS, DEFAULT_PARAMS, ExplainOptions, method_params


def test_defaults_are_the_explain_commands():
    o = ExplainOptions()
    assert (o.methods, o.params, o.force, o.top_percent, o.scale_waveform, o.corpus_root, o.seed, o.float32,
            o.figures, o.progress) == (None, None, False, 20.0, False, None, 0, True, True, True)
    task = ModelSpec("digit", 0)
    assert o.methods_for(task) == list(DEFAULT_METHODS["alexnet"])
    assert o.params_for(task, "lime") == {**DEFAULT_PARAMS["alexnet"]["lime"], "seed": 0}


def test_methods_are_checked_and_kept_once_in_order():
    o = ExplainOptions(methods=["lime", "gradcam", "lime"])
    assert o.methods == ("lime", "gradcam") and o.methods_for(ModelSpec("digit", 0)) == ["lime", "gradcam"]
    assert ExplainOptions(methods="lime").methods == ("lime",)
    assert ExplainOptions(methods=[]).methods is None
    with pytest.raises(ParameterError) as err:
        ExplainOptions(methods=["gradcamm"])
    assert "gradcamm" in str(err.value) and "integrated_gradients" in str(err.value)


@pytest.mark.parametrize("change, text", [
    ({"top_percent": 0}, "top_percent=0 must be in (0, 100]"),
    ({"top_percent": 120.5}, "top_percent=120.5 must be in (0, 100]"),
    ({"top_percent": "20"}, "top_percent='20' must be in (0, 100]"),
    ({"seed": 1.5}, "seed=1.5 must be an integer"),
    ({"seed": True}, "seed=True must be an integer"),
    ({"force": "yes"}, "force='yes' must be True or False"),
    ({"figures": None}, "figures=None must be True or False"),
    ({"corpus_root": 3}, "corpus_root=3 must be a folder path"),
    ({"params": {"lime": 100}}, "params={'lime': 100} must map method names"),
])
def test_bad_values_are_named_in_one_line(change, text):
    with pytest.raises(ParameterError) as err:
        ExplainOptions(**change)
    assert str(err.value).startswith(text) and "\n" not in str(err.value)


def test_replace_gives_a_validated_copy():
    o = ExplainOptions(methods=["gradcam"], params={"lime": {"num_samples": 40}}, seed=3, corpus_root=Path("raw"))
    p = o.replace(float32=False, force=True)
    assert (p.float32, p.force, p.methods, p.seed, p.corpus_root) == (False, True, ("gradcam",), 3, Path("raw"))
    assert (o.float32, o.force) == (True, False)  # the original is unchanged (and frozen)
    with pytest.raises(AttributeError):
        o.force = True
    with pytest.raises(ParameterError, match="top_percent=-1 must be in"):
        o.replace(top_percent=-1)
    with pytest.raises(ParameterError, match=r"unknown explain option\(s\) \['sed'\]; valid options: methods"):
        o.replace(sed=1)


def test_method_params_layer_the_model_defaults_the_seed_and_the_options():
    task = ModelSpec("emotion", 0, "cnn1d")
    assert method_params(task, "shap_kernel", {"shap_kernel": {"k": 5}}, seed=7)["k"] == 5
    o = ExplainOptions(params={"shap_kernel": {"k": 5}}, seed=7)
    assert o.params_for(task, "shap_kernel") == method_params(task, "shap_kernel", {"shap_kernel": {"k": 5}}, seed=7)
    assert o.params_for(task, "shap_kernel")["n_background"] == DEFAULT_PARAMS["cnn1d"]["shap_kernel"]["n_background"]


def test_sounds_made_by_an_earlier_cell_rule_are_made_again(monkeypatch):
    """The rule that picks an audible explanation's cells is part of the results' settings hash."""
    from types import SimpleNamespace

    from xaispec.audio import resynthesis
    from xaispec.study.results import config_key

    explainer = SimpleNamespace(params={"num_samples": 10})
    now = config_key(explainer, "abc", 20.0, True)
    assert now == config_key(explainer, "abc", 20.0, True)
    monkeypatch.setattr(resynthesis, "CELL_RULE", resynthesis.CELL_RULE - 1)
    assert config_key(explainer, "abc", 20.0, True) != now
