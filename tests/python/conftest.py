"""Shared fixtures of the Python package tests: where the real data and the cuvi CLI are, a small
synthetic count matrix as AnnData, a OneK1K cohort subsample, a k-NN label accuracy, and one trained
model per session (threads and seed fixed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import cuvi

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
FIXTURES = ROOT / "tests" / "fixtures"


def data_file(*parts: str) -> Path:
    """A file under ../shared/data; skips when the folder is absent (fails when CUVI_REQUIRE_DATA is set)."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CUVI_REQUIRE_DATA"):
            pytest.fail(f"{path} is missing but CUVI_REQUIRE_DATA is set")
        pytest.skip(f"real data not found at {path}")
    return path


def cli_path() -> str:
    """The cuvi command: $CUVI_CLI, build/cuvi in the source tree, or `cuvi` on PATH; skips without one."""
    for cand in (os.environ.get("CUVI_CLI"), str(ROOT / "build" / "cuvi"), shutil.which("cuvi")):
        if cand and os.access(cand, os.X_OK):
            return cand
    pytest.skip("no cuvi command found (set CUVI_CLI)")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cli_path(), *args], capture_output=True, text=True)


def synthetic_counts(n_cells: int = 240, n_genes: int = 40, seed: int = 0) -> ad.AnnData:
    """Poisson counts from three cell types with type-specific genes, two batches; CSR float32."""
    rng = np.random.default_rng(seed)
    types = rng.integers(0, 3, n_cells)
    rates = rng.gamma(2.0, 1.0, size=(3, n_genes))
    for t in range(3):
        rates[t, t::3] *= 6  # every third gene marks one type
    x = rng.poisson(rates[types] * rng.uniform(0.5, 1.5, size=(n_cells, 1))).astype(np.float32)
    a = ad.AnnData(sp.csr_matrix(x))
    a.obs_names = [f"cell{i}" for i in range(n_cells)]
    a.var_names = [f"gene{j}" for j in range(n_genes)]
    a.obs["cell_type"] = pd.Categorical(np.array(["alpha", "beta", "gamma"])[types])
    a.obs["batch"] = pd.Categorical(rng.choice(["b1", "b2"], n_cells))
    return a


ONEK1K = ("pbmc-onek1k-40donors", "pbmc_onek1k_40donors_7811cells.h5ad")


def onek1k_cohort(n_cells: int, n_donors: int) -> ad.AnnData:
    """n_cells cells (a seeded draw) of the first n_donors OneK1K donors; donor and sex categorical, age int."""
    full = ad.read_h5ad(data_file(*ONEK1K))
    donors = sorted(full.obs["donor"].astype(str).unique())[:n_donors]
    keep = np.flatnonzero(full.obs["donor"].astype(str).isin(donors).to_numpy())
    keep = np.sort(np.random.default_rng(0).choice(keep, n_cells, replace=False))
    a = full[keep].copy()
    a.obs["donor"] = a.obs["donor"].astype(str).astype("category")
    a.obs["sex"] = a.obs["sex"].astype(str).astype("category")
    return a


def knn_accuracy(x: np.ndarray, labels: np.ndarray, k: int = 15) -> float:
    """Leave-one-out k-nearest-neighbour majority-vote accuracy of labels in the embedding x."""
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    codes, inverse = np.unique(labels, return_inverse=True)
    votes = np.zeros((len(x), len(codes)))
    np.add.at(votes, (np.repeat(np.arange(len(x)), k), inverse[nn].ravel()), 1)
    return float((votes.argmax(1) == inverse).mean())


@pytest.fixture(autouse=True)
def _fixed_settings():
    cuvi.settings.seed = 0
    cuvi.settings.progress_bar = False
    yield
    cuvi.settings.seed = 0


@pytest.fixture(scope="session")
def trained():
    """(adata, SCVI) trained for 20 epochs on the synthetic counts, batch and labels registered."""
    cuvi.settings.progress_bar = False
    adata = synthetic_counts()
    cuvi.model.SCVI.setup_anndata(adata, batch_key="batch", labels_key="cell_type")
    model = cuvi.model.SCVI(adata, n_latent=4, n_hidden=32)
    model.train(max_epochs=20)
    return adata, model
