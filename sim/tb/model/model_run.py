"""cocotb module of spvit.sim.rtl_backend.RtlBackend: whole models, image by image, entirely in RTL (model_tb.sv driven
by model_host.ModelHost), in one simulator session.

SPVIT_RTL_JOB names one job folder, or several separated by os.pathsep (one session for several runs of the same
build). Each holds bundle.npz, images.npy and job.json (the k / threshold overrides); the session writes into it
results.npz (per image, golden Trace.per_image() names, as "<image>:<name>") and results.json (image count, per image
the cycles register of every block run and the cycles of every prune stage run, what ran in RTL).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import with_timeout

from model_host import ModelHost
from spvit.sim.golden import load_bundle

RTL_PARTS = ["patch_embed", "encoder_block", "prune_stage", "head"]
CLOCK_NS = 10  # model_host.ModelHost's clock period


def image_cycle_limit(cfg) -> int:
    """A hang guard per image, far above the cost of any run (the digits model takes about 70,000 cycles)."""
    n = 1 + cfg.num_patches + cfg.num_stages
    return 200 * cfg.depth * n * n + 1_000_000


@cocotb.test()
async def test_backend(dut):
    host = ModelHost(dut)
    await host.reset()
    for folder in os.environ["SPVIT_RTL_JOB"].split(os.pathsep):
        job = Path(folder)
        bundle = load_bundle(job / "bundle.npz")
        images = np.load(job / "images.npy")
        opts = json.loads((job / "job.json").read_text())
        await host.load(bundle, opts["k"], opts["threshold"])
        results, block_cycles, block_load_cycles, stage_cycles = {}, [], [], []
        for b, image in enumerate(images):
            res = await with_timeout(host.image(image), image_cycle_limit(bundle.config) * CLOCK_NS, "ns")
            results.update({f"{b}:{name}": value for name, value in res.trace.items()})
            block_cycles.append(res.block_cycles)
            block_load_cycles.append(res.block_load_cycles)
            stage_cycles.append(res.stage_cycles)
            host.log.info("%s image %d: blocks %s, stages %s cycles", job.name, b, res.block_cycles, res.stage_cycles)
        np.savez(job / "results.npz", **{k: np.asarray(v, dtype=np.int64) for k, v in results.items()})
        (job / "results.json").write_text(json.dumps({"images": len(images), "block_cycles": block_cycles,
                                                      "block_load_cycles": block_load_cycles,
                                                      "stage_cycles": stage_cycles, "rtl_parts": RTL_PARTS}))
