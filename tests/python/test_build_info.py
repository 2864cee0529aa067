"""The installed extension says what it was built as: CUDA with its architecture list, or CPU-only, and
a CPU-only build's CUDA backend explains itself through the engine's error path."""

import re

import pytest

import cuvi
from conftest import synthetic_counts


def test_build_info_names_the_build():
    info = cuvi.build_info()
    assert set(info) >= {"version", "cuda", "cuda_architectures", "host_isa", "blas"}
    assert info["version"] == cuvi.__version__
    if info["cuda"]:
        archs = info["cuda_architectures"].split(";")
        assert archs and all(re.fullmatch(r"\d+(-real|-virtual)?", a) for a in archs), info["cuda_architectures"]
    else:
        assert info["cuda_architectures"] == "none (CPU-only build)"


def test_cuda_availability_has_a_reason():
    usable, why = cuvi.cuda_available()
    assert isinstance(usable, bool)
    if not usable:
        assert why
    if not cuvi.build_info()["cuda"]:
        assert "no CUDA support" in why


def test_gpu_request_without_a_device_fails_clearly():
    if cuvi.cuda_available()[0]:
        pytest.skip("a CUDA device is usable here")
    adata = synthetic_counts(60, 12)
    cuvi.model.SCVI.setup_anndata(adata)
    model = cuvi.model.SCVI(adata, n_latent=2, n_hidden=8)
    with pytest.raises(cuvi.CuviError, match="no CUDA device is usable: "):
        model.train(max_epochs=1, accelerator="gpu")
