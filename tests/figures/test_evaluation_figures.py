"""The metric figures draw what they are given: one line per method, one cell per map, one number per pair."""
from __future__ import annotations

import numpy as np
import pandas as pd

from xaispec.figures.evaluation import agreement_heatmap, map_rows, method_curves, morf_lerf


def test_curves_one_line_per_method_floors_styled_apart(tmp_path):
    axis = np.linspace(0, 1, 5)
    curves = {"gradcam": (axis, np.ones((3, 5))), "random": (axis, np.zeros((3, 5)))}
    fig = method_curves(curves, title="t", xlabel="x", ylabel="y", path=tmp_path / "c.png")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["Grad-CAM (n=3)", "Random (n=3)"]
    assert ax.get_lines()[1].get_linestyle() == ":" and (tmp_path / "c.png").stat().st_size > 1000
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), np.ones(5))


def test_morf_lerf_points_agreement_numbers_and_map_grid():
    values = pd.DataFrame({"aopc_morf": [0.4, 0.1], "aopc_lerf": [0.1, 0.1]}, index=["lime", "energy"])
    fig = morf_lerf(values, title="t")
    offsets = np.concatenate([c.get_offsets() for c in fig.axes[0].collections])
    np.testing.assert_allclose(offsets, [[0.1, 0.4], [0.1, 0.1]])
    table = pd.DataFrame([[1.0, 0.25], [0.25, 1.0]], index=["gradcam", "lime"], columns=["gradcam", "lime"])
    texts = [t.get_text() for t in agreement_heatmap(table, title="t").axes[0].texts]
    assert texts == ["1.00", "0.25", "0.25", "1.00"]
    grid = map_rows({"gradcam": np.random.default_rng(0).random((3, 6, 5)), "lime": np.zeros((3, 6, 5))},
                    ["trained", "-> dense", "-> conv"], title="t")
    assert len(grid.axes) == 6 and grid.axes[0].get_title() == "trained" and grid.axes[0].get_ylabel() == "Grad-CAM"
