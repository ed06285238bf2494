"""The host driver's errors: one base class, `DriverError`, and one named subclass per way a run can fail.

Bad inputs are refused before anything reaches the accelerator; a core or DMA that does not finish raises
`AcceleratorTimeout` instead of hanging; AXI DMA status error bits become `DmaError`.
"""
from __future__ import annotations


class DriverError(Exception):
    """Base class of every error the spvit host driver raises."""


# ---- inputs -----------------------------------------------------------------------------------------------------------
class InputError(DriverError, ValueError):
    """The images handed to `Accelerator.infer` are not what the model takes."""


class InputShapeError(InputError):
    """Wrong shape: not [B, C, H, W] with the model's channels and image size (a single image [C, H, W] is fine)."""


class InputDtypeError(InputError):
    """Wrong dtype: the accelerator takes int8 images (integers); quantize floats with
    spvit.sim.golden.quantize_input(images, bundle.frac('input')) first."""


class InputRangeError(InputError):
    """Integer pixels outside int8 [-128, 127]."""


class TooManyTokensError(DriverError, ValueError):
    """A token sequence longer than the IP core's N_MAX (its token buffers are sized at synthesis)."""


class ModelMismatchError(DriverError, ValueError):
    """The model's dimensions (D, heads, MLP width, selector width) differ from the ones the IP cores were built for."""


class RegisterRangeError(DriverError, ValueError):
    """A run-time value (shift, eps term, count) does not fit its s_axilite register."""


# ---- backends ----------------------------------------------------------------------------------------------------------
class BackendUnavailable(DriverError, RuntimeError):
    """A backend that cannot run here (its tools or package missing); the message says what is missing."""


class BoardUnavailable(BackendUnavailable):
    """The board backend cannot start here: pynq missing, no device, no bitstream / .hwh, or an IP core missing from
    the overlay. The message says what is missing."""


class AcceleratorTimeout(DriverError, TimeoutError):
    """A core did not assert ap_done (or a DMA channel did not go idle) within the timeout."""


class DmaError(DriverError, RuntimeError):
    """An AXI DMA channel reported an error in its status register (DMASR): internal, slave or decode error."""

    def __init__(self, message: str, channel: str = "", status: int = 0):
        super().__init__(message)
        self.channel = channel
        self.status = status


class StreamError(DriverError, RuntimeError):
    """A core's output stream or return value is inconsistent: a misplaced TLAST on its input (the core returned
    false / 0), or a byte count that is not whole tokens."""
