"""The seed workflow end to end on real PBMC counts: tools/examples/pbmc_scvi_workflow.py trains SCVI
through the Python package, runs scanpy on obsm['X_scVI'], writes the UMAP and training-curve pictures
and DE table, and checks its own results (Leiden-vs-label ARI, lineage markers in the DE)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, data_file


def test_example_runs_and_passes_its_checks(tmp_path):
    data = data_file("pbmc-zheng2017", "pbmc_zheng2017_sorted_2140cells.h5ad")
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "examples" / "pbmc_scvi_workflow.py"), "--data",
                        str(data), "--out", str(tmp_path)],  # the example's defaults, as its threshold was set
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert all(summary["checks"].values())
    for png in ("umap_cell_type.png", "training_curves.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "de_bcell_vs_nk_cluster.csv").stat().st_size > 0
