"""Models with scvi-tools' interface: SCVI, LinearSCVI and MRVI."""

from ._linear_scvi import LinearSCVI
from ._mrvi import MRVI
from ._scvi import SCVI

__all__ = ["SCVI", "LinearSCVI", "MRVI"]
