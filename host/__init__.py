"""spvit.host: the host driver of the spvit accelerator (issue #6).

    from spvit.host import Accelerator
    acc = Accelerator(bundle, backend="board", bitstream="build/spvit.bit")   # "golden" | "rtl" | "board"
    traces = acc.infer(int8_images)       # per-image trace dicts, as spvit.sim.golden Trace.per_image()
    print(acc.throughput_test(int8_images))

Modules: driver (Accelerator, Timing), pack (every byte layout), ip (the IP cores' and the DMA's interfaces),
emulator (the cores at register level, golden arithmetic), board (pynq drivers; imports pynq), shim (an emulated
board beneath pynq; imports pynq), hwh (the emulated design's .hwh / .bit), cli (`spvit run`), errors.
Nothing here imports pynq until the board backend is asked for.
"""
from .driver import BACKENDS, Accelerator, Timing
from .errors import (AcceleratorTimeout, BackendUnavailable, BoardUnavailable, DmaError, DriverError, InputDtypeError,
                     InputError, InputRangeError, InputShapeError, ModelMismatchError, RegisterRangeError,
                     StreamError, TooManyTokensError)
from .ip import HLS_IP_DIMS, IpDims

__all__ = [
    "BACKENDS", "Accelerator", "Timing", "HLS_IP_DIMS", "IpDims",
    "AcceleratorTimeout", "BackendUnavailable", "BoardUnavailable", "DmaError", "DriverError", "InputDtypeError",
    "InputError", "InputRangeError", "InputShapeError", "ModelMismatchError", "RegisterRangeError", "StreamError",
    "TooManyTokensError",
]
