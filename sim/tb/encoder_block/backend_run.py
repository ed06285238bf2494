"""cocotb module of spvit.sim.rtl_backend.RtlBackend: a whole model, image by image, every encoder block in
hw/rtl/encoder_block.sv, in one simulator session.

Reads the job folder named by SPVIT_RTL_JOB (bundle.npz, images.npy, job.json with the k / threshold overrides) and
writes results.npz (per image, golden Trace.per_image() names, as "<image>:<name>") and results.json (image count,
the cycles register of every block run). The patch embedding, the pruning stages (scoring, selection, packaging) and
the head are the golden model's functions for now (see spvit.sim.rtl_backend); an asvit stage scores from the class
rows and contexts the RTL block streams out.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np

from encoder_block_tb import PARAM_BASE, BlockTB
from spvit.sim.block_regs import block_regs, pack_blocks, stage_blocks
from spvit.sim.golden import Trace, load_bundle
from spvit.sim.golden.model import head, patch_embed, per_stage, prune_stage
from spvit.sim.golden.scoring import asvit_score, selector


@cocotb.test()
async def test_backend(dut):
    job = Path(os.environ["SPVIT_RTL_JOB"])
    bundle = load_bundle(job / "bundle.npz")
    images = np.load(job / "images.npy")
    opts = json.loads((job / "job.json").read_text())
    cfg = bundle.config
    stages = stage_blocks(bundle)
    words, offsets = pack_blocks(bundle, stages)

    tb = BlockTB(dut)
    await tb.reset()
    await tb.read_info()
    want = (cfg.embed_dim, cfg.mlp_hidden, cfg.num_heads)
    assert (tb.d, tb.m, tb.heads) == want, f"core built for D, M, H = {(tb.d, tb.m, tb.heads)}, model needs {want}"
    assert tb.n_max >= 1 + cfg.num_patches + cfg.num_stages, "core built for fewer tokens than the model has"
    tb.store_words(words)
    regs = [block_regs(bundle, i, offsets[i], stages) for i in range(cfg.depth)]

    results, cycles = {}, []
    for b, image in enumerate(images):
        x = patch_embed(bundle, image[None])[0]  # golden (§11.1)
        n = x.shape[0]
        ids = np.arange(n)
        per_block = []
        for i in range(cfg.depth):
            asvit = i in stages and cfg.prune.score == "asvit"
            res = await tb.run_block(x, regs[i], PARAM_BASE + 16 * offsets[i], cls_out=asvit)
            per_block.append(res.cycles)
            x = res.tokens
            results[f"{b}:blocks.{i}.out"] = x
            if i in stages:
                s = stages[i]
                mask = np.ones((1, n), dtype=bool)
                if asvit:  # golden §8.1 on the RTL block's class rows and contexts
                    scores = asvit_score(res.cls_p16[None], res.cls_ctx[None])
                else:  # golden §8.2 on the RTL block's output
                    scores = selector(x[None], mask, bundle.selector(s), cfg.num_heads)
                scores = np.where(mask, scores, 0)
                results[f"{b}:stages.{s}.scores"] = scores[0]
                new_x, new_ids, n_out = prune_stage(bundle, s, x[None], ids[None], np.array([n]), scores,
                                                    per_stage(opts["k"], s), per_stage(opts["threshold"], s))
                n = int(n_out[0])
                x, ids = new_x[0, :n], new_ids[0, :n]
                results[f"{b}:stages.{s}.kept_ids"] = ids[ids != Trace.PAD_ID]
        results[f"{b}:logits"] = head(bundle, x[None], bundle.frac(f"blocks.{cfg.depth - 1}.out"))[0]
        cycles.append(per_block)
        tb.log.info("image %d: blocks %s cycles", b, per_block)

    np.savez(job / "results.npz", **{k: np.asarray(v, dtype=np.int64) for k, v in results.items()})
    (job / "results.json").write_text(json.dumps({"images": len(images), "block_cycles": cycles,
                                                  "rtl_parts": ["encoder_block"]}))
