"""cuvi: scVI-family single-cell models (SCVI, LinearSCVI, MRVI,
AmbientRegularizedSCVI) on a fused C++/CUDA engine, used the way
scvi-tools is used: ``cuvi.model.SCVI.setup_anndata(adata, ...)``, ``cuvi.model.SCVI(adata)``, ``.train()``,
``.get_latent_representation()`` and the rest, with the same names, defaults and return types.
"""

from ._cuvi import CuviError, build_info, cuda_available
from ._settings import settings
from . import model

__version__ = build_info()["version"]

__all__ = ["CuviError", "build_info", "cuda_available", "model", "settings", "__version__"]
