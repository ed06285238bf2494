"""The backends of `spvit simulate`: one interface, `run(images) -> Trace`, per implementation of the contract.

golden is the NumPy model itself; torch runs a trained model's integer eval form, hls the C-simulated HLS kernels,
rtl the Verilator-simulated RTL.
"""
from __future__ import annotations

import numpy as np

from .golden import Bundle, forward

NAMES = ("golden", "torch", "hls", "rtl")


class BackendUnavailable(RuntimeError):
    """A backend that cannot run here (not built yet, or its tool is missing)."""


class GoldenBackend:
    name = "golden"

    def __init__(self, bundle: Bundle, batch: int = 16):
        self.bundle = bundle
        self.batch = batch

    def run(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        out = []
        for start in range(0, len(images), self.batch):
            out += forward(self.bundle, images[start:start + self.batch]).per_image()
        return out


class TorchBackend:
    """The trained Brevitas model's integer eval form, run by torch (spvit.quant.export.IntegerModel)."""

    name = "torch"

    def __init__(self, model, batch: int = 64):
        from spvit.quant.export import IntegerModel

        self.integer = IntegerModel(model)
        self.batch = batch

    def run(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        out = []
        for start in range(0, len(images), self.batch):
            out += self.integer.forward(images[start:start + self.batch]).per_image()
        return out


def _hls_backend(bundle: Bundle, **options):
    """The C-simulated HLS kernels; unavailable (not an error of the model) when g++ or ap_types is missing or the
    csim bridge is not instantiated for the model's dimensions."""
    from . import tools
    from .hls_backend import HlsBackend

    try:
        tools.gxx()
        tools.ap_types_include()
        return HlsBackend(bundle, **options)
    except tools.ToolMissing as exc:
        raise BackendUnavailable(f"backend 'hls' needs {exc}") from None
    except ValueError as exc:
        raise BackendUnavailable(f"backend 'hls': {exc}") from None


def _rtl_backend(bundle: Bundle, **options):
    """The whole model in Verilator-simulated RTL (sim/tb/model/model_tb.sv; RtlBackend.rtl_parts); unavailable when
    Verilator is missing or the cores cannot be built for the model's dimensions."""
    from . import tools
    from .rtl_backend import RtlBackend

    try:
        tools.find("verilator")
        return RtlBackend(bundle, **options)
    except tools.ToolMissing as exc:
        raise BackendUnavailable(f"backend 'rtl' needs {exc}") from None
    except ValueError as exc:
        raise BackendUnavailable(f"backend 'rtl': {exc}") from None


def make_backend(name: str, bundle: Bundle, model=None, **options):
    """`model`: the trained torch model the bundle was exported from (needed by the torch backend)."""
    if name == "golden":
        return GoldenBackend(bundle, **options)
    if name == "torch":
        if model is None:
            raise BackendUnavailable("the torch backend runs a trained model: give a checkpoint (ckpt.pt), not a bundle")
        return TorchBackend(model, **options)
    if name == "hls":
        return _hls_backend(bundle, **options)
    if name == "rtl":
        return _rtl_backend(bundle, **options)
    raise BackendUnavailable(f"unknown backend {name!r}; known: {', '.join(NAMES)}")


def compare(a: list[dict], b: list[dict]) -> tuple[int, int, list[str]]:
    """Exact comparison, image by image and tensor by tensor: (tensors compared, mismatches, first reports)."""
    compared = mismatched = 0
    reports = []
    for i, (ta, tb) in enumerate(zip(a, b, strict=True)):
        for name in sorted(set(ta) | set(tb)):
            compared += 1
            x, y = ta.get(name), tb.get(name)
            if x is None or y is None or x.shape != y.shape or not np.array_equal(x, y):
                mismatched += 1
                if len(reports) < 10:
                    reports.append(f"image {i}: {name} differs" + _where(x, y))
    return compared, mismatched, reports


def _where(x, y) -> str:
    if x is None or y is None:
        return " (missing in one backend)"
    if x.shape != y.shape:
        return f" (shapes {x.shape} vs {y.shape})"
    diff = np.argwhere(x != y)
    return f" ({len(diff)} elements, first at {tuple(diff[0])}: {x[tuple(diff[0])]} vs {y[tuple(diff[0])]})"
