"""Models with scvi-tools' interface: SCVI and LinearSCVI."""

from ._linear_scvi import LinearSCVI
from ._scvi import SCVI

__all__ = ["SCVI", "LinearSCVI"]
