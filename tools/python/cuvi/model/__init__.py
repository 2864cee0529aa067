"""Models with scvi-tools' interface: SCVI, LinearSCVI, MRVI and
regularizedvi's AmbientRegularizedSCVI."""

from ._linear_scvi import LinearSCVI
from ._mrvi import MRVI
from ._regularized_scvi import AmbientRegularizedSCVI
from ._scvi import SCVI

__all__ = ["SCVI", "LinearSCVI", "MRVI", "AmbientRegularizedSCVI"]
