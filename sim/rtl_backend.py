"""The `rtl` backend of `spvit simulate`: a model bundle run image by image, the whole model in Verilator-simulated RTL.

`RtlBackend(bundle).run(images)` returns the per-image trace dicts of golden `Trace.per_image()` (docs/arithmetic.md
§11.5), like spvit.sim.hls_backend.HlsBackend, to be compared bit for bit. All images run in ONE simulator session of
the simulation top sim/tb/model/model_tb.sv: the bundle and the images go to a job folder inside the build folder,
cocotb runs sim/tb/model/model_run.py, whose host (sim/tb/model/model_host.py) drives the cores as a driver and a DMA
engine would (parameter words in DDR, registers over AXI4-Lite from spvit.sim.block_regs / spvit.sim.prune_regs,
tokens over AXI-Stream), and the results come back through files.

What runs in RTL (`RtlBackend.rtl_parts`): everything --
  patch_embed    §11.1 the patch projection (hw/rtl/linear.sv) and the class token + positional embedding
                 (hw/rtl/residual_add.sv); the host only cuts the image into patches and prepends the class token;
  encoder_block  §11.2 every block (hw/rtl/encoder_block.sv);
  prune_stage    §8-§11.3 every pruning stage (hw/rtl/prune_stage.sv: SCORER = 1, the SPViT selector inside, for spvit
                 bundles; SCORER = 2, asvit_score inside fed by the block's class-attention side streams, for asvit
                 bundles), its run-time registers (n, protected tail, k, threshold mode and value, package) from the
                 bundle or from the k / threshold overrides; the token ids from its output's source indices;
  head           §11.4 the final LayerNorm (hw/rtl/layernorm.sv) and the classifier's int32 accumulators (linear.sv).
`block_cycles` holds, per image, the cycles register of every block run (`block_load_cycles`: of which waiting for
its parameters; each run prefetches the next block's); `stage_cycles`, per image, the cycles of
every prune stage run (its run state: from the cycle after it sampled and checked its registers to its last output
beat; model_tb.sv's *_cycles taps). A stage runs behind its block: started first, it takes the block's output tokens
on the block's link (flags.link) as they come, so its cycles include its block's run.

The encoder block alone (tests/test_rtl_encoder_block.py) keeps its own build: `TOP`, `SOURCES`,
`block_parameters`, `default_build_dir` and `run_block_sim` below are that core's.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from . import rtl_sim
from .golden import Bundle

# ---- the encoder block's own build (tests/test_rtl_encoder_block.py) ------------------------------------------------
TOP = "encoder_block"
TB_DIR = rtl_sim.TB_DIR / "encoder_block"
# the block and everything it instantiates (composition helpers first, then the kernels)
SOURCES = [
    "encoder_block.sv", "axil_reg_if.sv", "axi_param_loader.sv", "lane_mem.sv", "linear_wmem.sv", "axis_lanes.sv",
    "token_buffer.sv", "layernorm.sv", "linear.sv", "attention.sv", "softmax.sv", "softmax_pow2_rom.sv",
    "residual_add.sv", "lut.sv", "udiv.sv", "isqrt.sv", "round_sat.sv",
]

# ---- the whole model: sim/tb/model/model_tb.sv ----------------------------------------------------------------------
MODEL_TOP = "model_tb"
MODEL_TB_DIR = rtl_sim.TB_DIR / "model"
# prune_stage.sv with both scorers, beyond what the block already needs
PRUNE_SOURCES = ["prune_stage.sv", "topk_select.sv", "token_pack.sv", "rdiv.sv", "selector.sv", "param_unpack.sv",
                 "linear_per_head.sv", "asvit_score.sv"]
MODEL_SOURCES = [MODEL_TB_DIR / "model_tb.sv", *SOURCES, *PRUNE_SOURCES]
RTL_PARTS = ["patch_embed", "encoder_block", "prune_stage", "head"]
# gcc -O1 instead of verilated.mk's -Os for the model (after it on the command line, so it wins): about a third less
# compile time for the same simulation speed (measured on the digits model: 54 s vs 100 s, 7 s vs 9 s per image)
MODEL_BUILD_ARGS = (*rtl_sim.BUILD_ARGS, "-CFLAGS", "-O1")
# model_tb.sv SCORERS: which prune stages are built (bit 0: SPViT selector, bit 1: Adaptive Sparse ViT)
SCORER_BITS = {"spvit": 1, "asvit": 2}


def block_parameters(cfg) -> dict[str, int]:
    """The HDL parameters of encoder_block.sv for a model config (dimensions; the parallelism keeps its defaults)."""
    return dict(D=cfg.embed_dim, H=cfg.num_heads, M=cfg.mlp_hidden, N_MAX=1 + cfg.num_patches + cfg.num_stages)


def default_build_dir(cfg) -> Path:
    """The encoder block's own build folder (its tests)."""
    p = block_parameters(cfg)
    return rtl_sim.build_root() / f"{TOP}-d{p['D']}-h{p['H']}-m{p['M']}-n{p['N_MAX']}"


def _largest_divisor(n: int, options=(16, 8, 4, 2, 1)) -> int:
    return next(v for v in options if n % v == 0)


def model_parameters(cfg) -> dict[str, int]:
    """The HDL parameters of model_tb.sv for a model config. Both prune stages are built when the selector fits the
    head width (one build serves spvit and asvit bundles of the same dimensions), else only the asvit one."""
    if cfg.embed_dim % 16 or cfg.mlp_hidden % 16 or cfg.embed_dim % cfg.num_heads:
        raise ValueError(f"encoder_block.sv needs D and the MLP width multiples of 16 (model {cfg.name}: "
                         f"{cfg.embed_dim}, {cfg.mlp_hidden})")
    dh = cfg.embed_dim // cfg.num_heads
    scorers = 3 if dh % 16 == 0 else 2  # selector.sv: LN_LANES 8 | DH, IN_PE 4 | DH/2, MLP_PE 2 | DH/4, DH/8 >= 2
    if not scorers & SCORER_BITS[cfg.prune.score]:
        raise ValueError(f"selector.sv (SPViT scoring) needs a head width that is a multiple of 16 (model {cfg.name}: "
                         f"{dh})")
    if dh % 4:
        raise ValueError(f"asvit_score.sv needs a head width that is a multiple of 4 (model {cfg.name}: {dh})")
    patch_dim = cfg.in_chans * cfg.patch_size ** 2
    # two parameter sets: every block run prefetches the next block's parameters (as a driver of a model of several
    # blocks would), so the whole-model tests run the core's prefetch on real, distinct blocks
    return dict(block_parameters(cfg), PARAM_SETS=2, TAIL_MAX=max(cfg.num_stages, 1), SCORERS=scorers,
                SEL_SE_WIDTH=cfg.se_width,
                PATCH_DIM=patch_dim, PE_SIMD=_largest_divisor(patch_dim), PE_PE=16, CLASSES=cfg.num_classes,
                HEAD_LANES=16, HEAD_PE=_largest_divisor(cfg.num_classes, (8, 4, 2, 1)))


def model_build_dir(cfg) -> Path:
    """The model top's build folder for a config's dimensions (under build/rtl; shared by every bundle that fits)."""
    p = model_parameters(cfg)
    return rtl_sim.build_root() / (f"{MODEL_TOP}-d{p['D']}-h{p['H']}-m{p['M']}-n{p['N_MAX']}-p{p['PATCH_DIM']}"
                                   f"-c{p['CLASSES']}-se{p['SEL_SE_WIDTH']}-t{p['TAIL_MAX']}-s{p['SCORERS']}")


def run_block_sim(*, test_module: str, build_dir, parameters: dict, extra_env: dict | None = None,
                  expect_tests: int | None = None, run_name: str = "sim") -> rtl_sim.CocotbResults:
    """Build encoder_block.sv (incrementally) into `build_dir` and run a cocotb module of sim/tb/encoder_block."""
    build_dir = Path(build_dir)
    with rtl_sim.build_lock(build_dir):
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
        self.parameters = model_parameters(cfg)  # ValueError: the model does not fit the cores
        if threshold is not None and cfg.prune.select != "threshold":
            raise ValueError(f"a threshold was given, but model {cfg.name} selects by top-k (prune.select: topk)")
        self.bundle = bundle
        self.k, self.threshold = k, threshold
        self.build_dir = Path(build_dir) if build_dir is not None else model_build_dir(cfg)
        self.block_cycles: list[list[int]] = []
        self.block_load_cycles: list[list[int]] = []
        self.stage_cycles: list[list[int]] = []

    def _check_images(self, images: np.ndarray) -> np.ndarray:
        cfg = self.bundle.config
        images = np.asarray(images)
        want = (cfg.in_chans, cfg.img_size, cfg.img_size)
        if images.ndim != 4 or images.shape[1:] != want:
            raise ValueError(f"images of shape {images.shape}; model {cfg.name} takes [B, {', '.join(map(str, want))}]")
        if images.size and (images.min() < -128 or images.max() > 127):
            raise ValueError("images must be int8 (docs/arithmetic.md §12.1)")
        return images.astype(np.int64)

    def _write_job(self, job: Path, images: np.ndarray) -> None:
        job.mkdir(parents=True, exist_ok=True)
        for stale in job.glob("*"):
            stale.unlink()
        self.bundle.save(job / "bundle.npz")
        np.save(job / "images.npy", images)
        (job / "job.json").write_text(json.dumps({"k": self.k, "threshold": self.threshold}))

    def _read_job(self, job: Path, images: np.ndarray) -> list[dict[str, np.ndarray]]:
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
        self.block_load_cycles = meta["block_load_cycles"]
        self.stage_cycles = meta["stage_cycles"]
        return out

    def run(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        return run_together([(self, images)])[0]


def run_together(runs: list[tuple[RtlBackend, np.ndarray]], run_name: str = "backend") -> list[list[dict]]:
    """Several backends' runs (models of the same build) in ONE simulator session, in order: each backend's
    `run(images)` result, its cycles set as by run(). Saves a session start per run (tests)."""
    if not runs:
        return []
    build_dir, params = runs[0][0].build_dir, runs[0][0].parameters
    if any(b.build_dir != build_dir or b.parameters != params for b, _ in runs):
        raise ValueError("run_together: every backend must use the same build")
    checked = [(b, b._check_images(imgs)) for b, imgs in runs]
    # the job folders live in the build folder, so they are written and read under its lock: another process
    # running the same build (a pytest-xdist worker) would otherwise overwrite them mid-run
    with rtl_sim.build_lock(build_dir):
        jobs = []
        for j, (backend, images) in enumerate(checked):
            job = build_dir / f"backend_job{j if j else ''}"
            backend._write_job(job, images)
            jobs.append(job.resolve())
        rtl_sim.run_cocotb(toplevel=MODEL_TOP, sources=MODEL_SOURCES, test_module="model_run", tb_dir=MODEL_TB_DIR,
                           build_dir=build_dir, parameters=params, build_args=MODEL_BUILD_ARGS,
                           extra_env={"SPVIT_RTL_JOB": os.pathsep.join(map(str, jobs))}, expect_tests=1,
                           run_name=run_name)
        return [backend._read_job(job, images) for (backend, images), job in zip(checked, jobs)]


def main(argv=None) -> int:  # pragma: no cover - a manual entry point: python -m spvit.sim.rtl_backend
    import argparse

    from spvit.configs import load_config

    from .backends import compare
    from .golden import forward, random_bundle

    ap = argparse.ArgumentParser(description="Run random images through the RTL backend, compare with golden")
    ap.add_argument("--config", default="digits")
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    bundle = random_bundle(cfg, seed=args.seed)
    imgs = np.random.default_rng(args.seed).integers(-128, 128, (args.images, cfg.in_chans, cfg.img_size,
                                                                  cfg.img_size))
    backend = RtlBackend(bundle)
    compared, mismatched, reports = compare(forward(bundle, imgs).per_image(), backend.run(imgs))
    print(f"{compared} tensors compared, {mismatched} mismatched; block cycles {backend.block_cycles}, stage cycles "
          f"{backend.stage_cycles}")
    print("\n".join(reports))
    return 1 if mismatched else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
