"""A model trained by scvi-tools runs in cuvi: the converted fixture model (tests/fixtures/de, written by
tools/fixtures) gives scvi-tools' own latent means; where scvi-tools is installed, from_scvi_tools also
imports a live model and its save() directory."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pytest

import cuvi
from conftest import FIXTURES, synthetic_counts


def test_fixture_model_gives_scvi_tools_latent():
    adata = ad.read_h5ad(FIXTURES / "de" / "data.h5ad")
    model = cuvi.model.SCVI.load(str(FIXTURES / "de" / "model.cuvi"), adata)
    expected = np.asarray(json.loads((FIXTURES / "de" / "fit.json").read_text())["latent_mean_first_cells"])
    z = model.get_latent_representation()[: len(expected)]
    np.testing.assert_allclose(z, expected, atol=2e-5)
    assert model.is_trained


def test_from_scvi_tools(tmp_path):
    scvi = pytest.importorskip("scvi")
    adata = synthetic_counts(200, 30)
    scvi.settings.seed = 0
    scvi.model.SCVI.setup_anndata(adata, batch_key="batch")
    reference = scvi.model.SCVI(adata, n_latent=4)
    reference.train(max_epochs=2)
    expected = reference.get_latent_representation()
    imported = cuvi.model.SCVI.from_scvi_tools(reference, adata.copy())
    np.testing.assert_allclose(imported.get_latent_representation(), expected, atol=1e-4)
    reference.save(str(tmp_path / "scvi"))
    from_dir = cuvi.model.SCVI.from_scvi_tools(str(tmp_path / "scvi"), adata.copy())
    np.testing.assert_array_equal(from_dir.get_latent_representation(), imported.get_latent_representation())
