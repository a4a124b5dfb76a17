"""`scripts/bench_pruning.py` on tiny configurations (CSVs in a tmp dir).

Covers the MNIST-1D CNN path of the grid (built by
`scripts/bench_filter_design.build_model`, trained densely by the
bench) and the `lth` part: IMP on the fresh digits CNN, matched to the
final density of the `sap` part's run of the same seed.
"""

import argparse
import os

import pytest

from scripts import bench_pruning


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Points the bench's CSVs and PNG at a temporary folder.

    Every split is also cut to its first 192 samples (three batches of
    64), to keep the test fast on every backend.
    """
    folder = tmp_path_factory.mktemp("results")
    data = bench_pruning._data
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CSV", "SAP_CSV", "LTH_CSV", "PNG"):
            patch.setattr(bench_pruning, name, str(
                folder / os.path.basename(getattr(bench_pruning, name))))
        patch.setattr(bench_pruning, "_data", lambda name, split: tuple(
            a[:192] for a in data(name, split)))
        yield folder


def _args(**kwargs):
    defaults = {"methods": ["dense", "global_mp_mt"], "sparsities": [0.9],
                "seeds": [0], "epochs": 1, "dense_epochs": 1,
                "sap_iterations": 3, "sap_epochs": 1}
    return argparse.Namespace(**{**defaults, **kwargs})


@pytest.fixture(scope="module")
def grid(results):
    """The grid's rows of the MNIST-1D CNN, also written to its CSV."""
    rows = bench_pruning._grid_model("mnist1d_cnn", _args())
    bench_pruning._write_grid(rows)
    return rows


@pytest.fixture(scope="module")
def trajectories(results):
    """`(sap rows, lth rows)` of seed 0, 3 rounds of 1 epoch."""
    args = _args()
    with pytest.raises(SystemExit, match="--parts sap"):
        bench_pruning._lth(args)
    return bench_pruning._sap(args), bench_pruning._lth(args)


def test_grid_mnist1d_cnn(grid):
    assert [r["method"] for r in grid] == ["dense", "global_mp_mt"]
    dense, pruned = grid
    for row in grid:
        assert row["dataset"] == "mnist1d"
        assert row["dense_epochs"] == 1
        # The filter-design CNN at kernel 5: conv 1*5*32, conv 32*5*64,
        # dense 64*10 kernels.
        assert row["prunable_count"] == 5 * 32 + 32 * 5 * 64 + 64 * 10
        assert 0.0 <= row["top1"] <= 100.0
    assert dense["sparsity"] == 0.0
    assert pruned["sparsity"] == pytest.approx(0.9, abs=1e-4)
    assert pruned["min_kept"] >= pruned["min_weights"] == 5
    assert pruned["collapsed"] == ""
    assert len(bench_pruning.read_csv_rows(bench_pruning.CSV)) == 2


def test_lth_matches_sap_final_density(trajectories):
    sap, imp = trajectories
    assert [r["iteration"] for r in imp] == [0, 1, 2]
    assert imp[0]["density"] == sap[0]["density"] == 1.0
    # IMP's last round trains at SAP's final density, to one weight.
    prunable = 19360
    assert abs(imp[-1]["density"] - sap[-1]["density"]) * prunable <= 1.01
    assert imp[-1]["sap_density"] == str(sap[-1]["density"])
    assert 0.0 < imp[1]["rate"] < 1.0
    assert imp[1]["density"] == pytest.approx(1.0 - imp[1]["rate"],
                                              abs=1e-4)
    written = bench_pruning.read_csv_rows(bench_pruning.LTH_CSV)
    assert [r["method"] for r in written] == ["imp"] * 3
    with pytest.raises(SystemExit, match="--parts sap"):
        bench_pruning._lth(_args(sap_epochs=2))


def test_plot(grid, trajectories):
    bench_pruning._plot()
    assert os.path.getsize(bench_pruning.PNG) > 0
