"""The measurement stage on the smoke digits run: every metric, the floors, result files, reuse, failures, CLI."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from xaispec.errors import DataError
from xaispec.study.measure import measure, measure_paths, read_measurements, silence
from xaispec.study.options import ExplainOptions
from xaispec.study.stage import explain

pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def project_root(request):
    """Commands run in these tests find the smoke runs under their project root."""
    if {"smoke", "digits", "measured"} & set(request.fixturenames):
        request.getfixturevalue("smoke_root")

SETTINGS = {"samples": 2, "steps": 4, "regions": 4, "road_percents": [50], "subsets": 4, "infidelity_draws": 2,
            "sensitivity_draws": 2,
            "mask_percents": [10], "sanity_samples": 1, "sanity_layers": 1, "manipulation_shares": [0.0, 0.5]}
PARAMS = {"lime": {"segmentation": "grid", "num_samples": 20}}


@pytest.fixture(scope="module")
def measured(smoke, digits):
    run, task, table = digits
    samples = table.iloc[[1, 3, 4]]
    options = ExplainOptions(methods=["gradcam", "lime"], params=PARAMS, figures=False, progress=False)
    with pytest.MonkeyPatch.context() as mp:  # the recordings are found under the smoke runs' root
        mp.setenv("XAISPEC_ROOT", str(smoke["root"]))
        explain(run, task, samples, options)
        result = measure(run, task, methods=["gradcam", "lime"], settings=SETTINGS, options=options, progress=False)
    return run, task, samples, options, result


def test_every_method_and_both_floors_get_every_metric(measured):
    run, task, samples, options, result = measured
    assert not result.failures, [f.line() for f in result.failures]
    assert result.methods == ["gradcam", "lime", "random", "energy"] and result.measured == result.methods
    # the first two samples both methods explained (earlier tests may have explained others first)
    from xaispec.explain import Explanation
    from xaispec.study.results import result_paths

    order = [str(i) for i in Explanation.load(result_paths(run, task, "gradcam")[1]).extra["sample_ids"]]
    lime = {str(i) for i in Explanation.load(result_paths(run, task, "lime")[1]).extra["sample_ids"]}
    assert result.sample_ids == [i for i in order if i in lime][:2]
    assert set(samples["sample_id"]) <= lime
    files = read_measurements(run, task)
    rows, summary = files["rows"], files["summary"]
    metrics = {"deletion_auc", "insertion_auc", "aopc_morf", "aopc_lerf", "aopc_random", "aopc_morf_minus_lerf",
               "road_morf", "road_lerf", "faithfulness_correlation", "infidelity", "ai_10", "ad_10", "ag_10",
               "ff_10", "fid_in_10", "sound_fid_in_10", "sound_p_kept_10", "sound_out_fid_10",
               "sound_out_p_kept_10", "manipulation", "sparseness", "complexity", "mprt_spearman",
               "mprt_spearman_abs", "mprt_ssim", "random_logit_ssim", "random_logit_spearman", "max_sensitivity"}
    for method in result.methods:
        have = set(rows.loc[rows["method"] == method, "metric"])
        assert metrics <= have, (method, sorted(metrics - have))
    # two samples for the batch metrics, one for the checks that explain again
    per = rows.groupby(["method", "metric"]).size()
    assert per[("lime", "deletion_auc")] == 2 and per[("lime", "mprt_spearman")] == 1
    # the summary's means are the rows' means, inside their intervals
    s = summary.set_index(["method", "metric"])
    mean = rows[rows["metric"] == "deletion_auc"].groupby("method")["value"].mean()
    for method, m in mean.items():
        assert s.loc[(method, "deletion_auc"), "mean"] == pytest.approx(m)
        assert s.loc[(method, "deletion_auc"), "ci_low"] <= m + 1e-12 <= s.loc[(method, "deletion_auc"), "ci_high"] + 2e-12
    # the energy floor ignores the model: the randomised network leaves its map as it was
    assert s.loc[("energy", "mprt_spearman"), "mean"] == pytest.approx(1.0)
    agreement = files["agreement"]
    assert list(agreement.index) == result.methods and np.allclose(np.diag(agreement.to_numpy()), 1.0)


def test_the_record_states_baseline_steps_seed_and_cost(measured):
    run, task, samples, options, result = measured
    record = read_measurements(run, task)["record"]
    scaling = json.loads(run.model_path(task).with_suffix(".scaling.json").read_text())
    assert record["baseline"]["value"] == pytest.approx((-80.0 - scaling["mean"]) / scaling["std"], rel=1e-5)
    deletion = record["methods"]["gradcam"]["metrics"]["deletion_auc"]
    assert deletion["params"]["steps"] == 4 and deletion["forward"] == 2 * 5
    assert record["methods"]["lime"]["metrics"]["aopc_random"]["params"]["seed"] == 0
    assert record["methods"]["lime"]["forward"] > record["methods"]["gradcam"]["forward"]  # LIME re-explains dearer
    assert "versions" in record["provenance"] and record["settings"]["steps"] == 4
    curves = read_measurements(run, task)["curves"]
    assert curves["gradcam/deletion_auc"].shape == (2, 5) and curves["gradcam/deletion_auc/axis"][-1] == 1.0
    np.testing.assert_allclose(silence(task, scaling, (227, 227)), record["baseline"]["value"], rtol=1e-6)


def test_current_results_are_reused_and_a_change_remeasures(measured):
    run, task, samples, options, result = measured
    paths = measure_paths(run, task)
    before = pd.read_csv(paths["csv"])
    again = measure(run, task, methods=["gradcam", "lime"], settings=SETTINGS, options=options, progress=False)
    assert again.measured == [] and again.reused == result.methods and again.forward == 0
    pd.testing.assert_frame_equal(pd.read_csv(paths["csv"]), before)
    changed = measure(run, task, methods=["gradcam", "lime"], settings={**SETTINGS, "steps": 5}, options=options,
                      progress=False)
    assert changed.measured == result.methods
    assert read_measurements(run, task)["record"]["methods"]["gradcam"]["metrics"]["deletion_auc"]["params"]["steps"] == 5


def test_missing_explanations_are_named(digits):
    run, task, _ = digits
    with pytest.raises(DataError, match="no explanations of .* by occlusion .*xaispec explain"):
        measure(run, task, methods=["occlusion"], settings=SETTINGS, progress=False)


def test_cli_measures_and_a_failing_method_is_reported(measured, monkeypatch):
    from xaispec.cli import app
    from xaispec.evaluation import suite

    run, task, samples, options, result = measured
    args = ["evaluate-explanations", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
            "-m", "gradcam", "-m", "lime", "--samples", "2", "-p", "lime.segmentation=grid", "-p", "lime.num_samples=20"]
    ok = CliRunner().invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert "measured gradcam, lime, random, energy" in ok.output
    real = suite.run_suite
    noise = np.random.default_rng(0).random((2, 227, 227)).astype(np.float32)  # the random floor's maps (seed 0)

    def broken(model, x, maps, *a, **k):
        if np.array_equal(maps, noise):
            raise RuntimeError("injected failure")
        return real(model, x, maps, *a, **k)

    monkeypatch.setattr(suite, "run_suite", broken)
    bad = CliRunner().invoke(app, args + ["--force"])
    assert bad.exit_code == 4, bad.output
    assert "random *: RuntimeError: injected failure" in bad.output
    rows = read_measurements(run, task)["rows"]
    assert set(rows["method"]) == {"gradcam", "lime", "energy"}
