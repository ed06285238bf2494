"""The `rtl` backend of `spvit simulate`: a model bundle run image by image with every encoder block in the
Verilator-simulated hw/rtl/encoder_block.sv.

`RtlBackend(bundle).run(images)` returns the per-image trace dicts of golden `Trace.per_image()` (docs/arithmetic.md
§11.5), like spvit.sim.hls_backend.HlsBackend, to be compared bit for bit. All images and blocks run in ONE simulator
session: the bundle and the images go to a job folder inside the build folder, cocotb runs
sim/tb/encoder_block/backend_run.py (which drives the core as a host driver would: parameter words in DDR, registers
over AXI4-Lite from spvit.sim.block_regs, tokens over AXI-Stream), and the results come back through files.

What runs in RTL (`RtlBackend.rtl_parts`): every encoder block (§11.2: LN1, qkv, attention, proj, residual, LN2, fc1,
GELU, fc2, residual). What does not, yet: the patch embedding (§11.1), the pruning stages' scoring (§8: for asvit the
golden asvit_score is applied to the class rows and contexts the RTL block streams out; for spvit the golden selector
runs on the block's RTL output), selection and packaging (§9-§11.3), and the head (§11.4) run in the golden model's
own functions; hw/rtl/prune_stage.sv is to be wired in when it lands. `block_cycles` holds, per image, the measured
cycles register of every block run.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import sys
from pathlib import Path

import numpy as np

from . import rtl_sim
from .golden import Bundle

TOP = "encoder_block"
TB_DIR = rtl_sim.TB_DIR / "encoder_block"
# the block and everything it instantiates (composition helpers first, then the kernels)
SOURCES = [
    "encoder_block.sv", "axil_reg_if.sv", "axi_param_loader.sv", "lane_mem.sv", "linear_wmem.sv", "axis_lanes.sv",
    "token_buffer.sv", "layernorm.sv", "linear.sv", "attention.sv", "softmax.sv", "softmax_pow2_rom.sv",
    "residual_add.sv", "lut.sv", "udiv.sv", "isqrt.sv", "round_sat.sv",
]
RTL_PARTS = ["encoder_block"]


def block_parameters(cfg) -> dict[str, int]:
    """The HDL parameters of encoder_block.sv for a model config (dimensions; the parallelism keeps its defaults)."""
    return dict(D=cfg.embed_dim, H=cfg.num_heads, M=cfg.mlp_hidden, N_MAX=1 + cfg.num_patches + cfg.num_stages)


def default_build_dir(cfg) -> Path:
    p = block_parameters(cfg)
    return rtl_sim.build_root() / f"{TOP}-d{p['D']}-h{p['H']}-m{p['M']}-n{p['N_MAX']}"


@contextlib.contextmanager
def _locked(build_dir: Path):
    """One build-and-run at a time per build folder (pytest-xdist workers, concurrent backends)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".spvit.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_block_sim(*, test_module: str, build_dir, parameters: dict, extra_env: dict | None = None,
                  expect_tests: int | None = None, run_name: str = "sim") -> rtl_sim.CocotbResults:
    """Build encoder_block.sv (incrementally) into `build_dir` and run a cocotb module of sim/tb/encoder_block."""
    build_dir = Path(build_dir)
    with _locked(build_dir):
        return rtl_sim.run_cocotb(toplevel=TOP, sources=SOURCES, test_module=test_module, tb_dir=TB_DIR,
                                  build_dir=build_dir, parameters=parameters, extra_env=dict(extra_env or {}),
                                  expect_tests=expect_tests, run_name=run_name)


class RtlBackend:
    name = "rtl"
    rtl_parts = RTL_PARTS

    def __init__(self, bundle: Bundle, k=None, threshold=None, build_dir=None):
        """`k` / `threshold`: run-time overrides as in golden `forward` (one value for every stage, or a list).
        `build_dir`: the Verilator build folder (default: one per model dimensions under build/rtl)."""
        cfg = bundle.config
        if cfg.embed_dim % 16 or cfg.mlp_hidden % 16 or cfg.embed_dim % cfg.num_heads:
            raise ValueError(f"encoder_block.sv needs D and the MLP width multiples of 16 (model {cfg.name}: "
                             f"{cfg.embed_dim}, {cfg.mlp_hidden})")
        self.bundle = bundle
        self.k, self.threshold = k, threshold
        self.parameters = block_parameters(cfg)
        self.build_dir = Path(build_dir) if build_dir is not None else default_build_dir(cfg)
        self.block_cycles: list[list[int]] = []

    def run(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        images = np.asarray(images)
        job = self.build_dir / "backend_job"
        job.mkdir(parents=True, exist_ok=True)
        for stale in job.glob("*"):
            stale.unlink()
        self.bundle.save(job / "bundle.npz")
        np.save(job / "images.npy", images.astype(np.int64))
        (job / "job.json").write_text(json.dumps({"k": self.k, "threshold": self.threshold}))
        run_block_sim(test_module="backend_run", build_dir=self.build_dir, parameters=self.parameters,
                      extra_env={"SPVIT_RTL_JOB": str(job.resolve())}, expect_tests=1, run_name="backend")
        meta = json.loads((job / "results.json").read_text())
        if meta.get("images") != len(images):
            raise rtl_sim.CocotbFailed(f"the RTL backend simulation returned {meta.get('images')} of {len(images)} "
                                       "images")
        with np.load(job / "results.npz", allow_pickle=False) as data:
            out = [{} for _ in images]
            for key in data.files:
                img, name = key.split(":", 1)
                out[int(img)][name] = data[key].astype(np.int64)
        self.block_cycles = meta["block_cycles"]
        return out


def main(argv=None) -> int:  # pragma: no cover - a manual entry point: python -m spvit.sim.rtl_backend
    import argparse

    from spvit.configs import load_config

    from .backends import compare
    from .golden import forward, random_bundle

    ap = argparse.ArgumentParser(description="Run random digits images through the RTL backend, compare with golden")
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    cfg = load_config("digits")
    bundle = random_bundle(cfg, seed=args.seed)
    imgs = np.random.default_rng(args.seed).integers(-128, 128, (args.images, cfg.in_chans, cfg.img_size,
                                                                  cfg.img_size))
    backend = RtlBackend(bundle)
    compared, mismatched, reports = compare(forward(bundle, imgs).per_image(), backend.run(imgs))
    print(f"{compared} tensors compared, {mismatched} mismatched; block cycles {backend.block_cycles}")
    print("\n".join(reports))
    return 1 if mismatched else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
