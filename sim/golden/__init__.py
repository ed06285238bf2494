"""The NumPy golden model: the executable half of the contract (docs/arithmetic.md)."""
from .bundle import Bundle, BundleChecksumError, BundleError, BundleFormatError, BundleSchemaError, BundleVersionError, load_bundle
from .generate import random_bundle
from .model import Trace, forward, quantize_input

__all__ = [
    "Bundle", "BundleChecksumError", "BundleError", "BundleFormatError", "BundleSchemaError", "BundleVersionError",
    "Trace", "forward", "load_bundle", "quantize_input", "random_bundle",
]
