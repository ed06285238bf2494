"""cocotb testbench for hw/rtl/encoder_block.sv against the golden spvit.sim.golden.model.encoder_block.

Run from tests/test_rtl_encoder_block.py (which builds the core with Verilator for the digits model). Random digits
bundles (spvit.sim.golden.random_bundle): parameters packed by spvit.sim.block_regs.pack_blocks into the simulated DDR,
registers written through AXI4-Lite from block_regs()/rtl_reg_writes(). Every run checks bit for bit the block's
output tokens, the class-attention row of every head (p16) and the class token's context per head, and that the
frames end where they should. Tokens: the patch embedding of a random image for block 0 (realistic statistics), random
int8 tokens otherwise. Measured cycles per token count go to the JSON file SPVIT_TB_CYCLES_JSON names (default:
encoder_block_cycles.json in the build folder).

Environment: SPVIT_TB_N_LIST (token counts of test_token_counts, default "65,2,19,34"), SPVIT_TB_SWEEP=1 (also
every n in 1..N_MAX, for the latency table), SPVIT_TB_REG_SKEW=name:delta (the must-fail check: write a wrong
register value, so the core's result must differ from golden).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles

from encoder_block_tb import PARAM_BASE, BlockTB
from spvit.configs import load_config
from spvit.sim.block_regs import RTL_STATUS, block_regs, dense_words, head_words, pack_blocks, stage_blocks
from spvit.sim.golden import random_bundle
from spvit.sim.golden.model import encoder_block, patch_embed

N_LIST = [int(v) for v in os.environ.get("SPVIT_TB_N_LIST", "65,2,19,34").split(",") if v]
SWEEP = os.environ.get("SPVIT_TB_SWEEP", "0") == "1"
REG_SKEW = {k: int(v) for k, v in (item.split(":") for item in os.environ.get("SPVIT_TB_REG_SKEW", "").split(",")
                                   if item)}
CYCLES_JSON = Path(os.environ.get("SPVIT_TB_CYCLES_JSON", "encoder_block_cycles.json"))


class Model:
    """A random digits bundle, packed once; golden results per (block, tokens)."""

    def __init__(self, seed: int):
        self.bundle = random_bundle(load_config("digits"), seed=seed)
        self.stages = stage_blocks(self.bundle)
        self.words, self.offsets = pack_blocks(self.bundle, self.stages)
        self.rng = np.random.default_rng(seed + 1000)

    def addr(self, i: int) -> int:
        return PARAM_BASE + 16 * self.offsets[i]

    def regs(self, i: int) -> dict:
        return block_regs(self.bundle, i, self.offsets[i], self.stages)

    def tokens(self, i: int, n: int) -> np.ndarray:
        cfg = self.bundle.config
        if i == 0:
            img = self.rng.integers(-128, 128, (1, cfg.in_chans, cfg.img_size, cfg.img_size))
            x = patch_embed(self.bundle, img)[0]
            return x[self.rng.permutation(x.shape[0])[:n]] if n < x.shape[0] else x[:n]
        return self.rng.integers(-128, 128, (n, cfg.embed_dim))

    def golden(self, i: int, x: np.ndarray):
        f_in = self.bundle.frac("embed.out" if i == 0 else f"blocks.{i - 1}.out")
        mask = np.ones((1, x.shape[0]), dtype=bool)
        y, p16, ctx = encoder_block(self.bundle, i, x[None], mask, f_in)
        return y[0], p16[0], ctx[0]


async def start(dut) -> BlockTB:
    tb = BlockTB(dut)
    await tb.reset()
    await tb.read_info()
    cfg = load_config("digits")
    assert (tb.d, tb.m, tb.heads) == (cfg.embed_dim, cfg.mlp_hidden, cfg.num_heads), "core built for another model"
    return tb


async def check_block(tb: BlockTB, model: Model, i: int, x: np.ndarray, label: str, addr: int | None = None, **kw):
    """Block i of the model on tokens x (its parameters at `addr`, default where the model's words were stored)."""
    res = await tb.run_block(x, model.regs(i), model.addr(i) if addr is None else addr, reg_skew=REG_SKEW, **kw)
    want, want_p16, want_ctx = model.golden(i, x)
    bad = np.argwhere(res.tokens != want)
    for t, c in bad[:5]:
        tb.log.error("%s: token %d channel %d: rtl %d, golden %d", label, t, c, res.tokens[t, c], want[t, c])
    assert bad.size == 0, f"{label}: {len(bad)} of {want.size} output channels differ from golden encoder_block"
    if kw.get("cls_out", True):
        assert np.array_equal(res.cls_p16, want_p16), f"{label}: class-attention rows differ from golden"
        assert np.array_equal(res.cls_ctx, want_ctx), f"{label}: class contexts differ from golden"
    tb.log.info("%s: n=%d bit-exact, %d cycles (%d fetching parameters)", label, x.shape[0], res.cycles,
                res.load_cycles)
    return res


def record_cycles(key: str, table: dict):
    data = json.loads(CYCLES_JSON.read_text()) if CYCLES_JSON.is_file() else {}
    data[key] = table
    CYCLES_JSON.write_text(json.dumps(data, indent=1, sort_keys=True))


@cocotb.test()
async def test_token_counts(dut):
    """n = 65 (the digits image), and smaller n; no stalls: the measured cycles per n, with and without the
    parameter fetch (the second run of a block keeps its parameters on chip)."""
    tb = await start(dut)
    model = Model(seed=1)
    assert tb.param_words == dense_words(model.bundle), "the core fetches another number of words than the host packs"
    tb.store_words(model.words)
    fetch, kept = {}, {}
    for k, n in enumerate(N_LIST):
        i = k % model.bundle.config.depth
        res = await check_block(tb, model, i, model.tokens(i, n), f"block {i} (fetch)")
        assert res.load_cycles > 0 and res.status & RTL_STATUS["params_valid"]
        fetch[n] = res.cycles
        res = await check_block(tb, model, i, model.tokens(i, n), f"block {i} (kept)")
        assert res.load_cycles == 0, "parameters fetched again although on chip at the same address"
        kept[n] = res.cycles
    if SWEEP:
        for n in range(1, tb.n_max + 1):
            res = await check_block(tb, model, 3, model.tokens(3, n), "sweep", cls_out=False)
            kept[n] = res.cycles
    record_cycles("fetch", fetch)
    record_cycles("kept", kept)


@cocotb.test()
async def test_stalls(dut):
    """Random idle on the tokens and random backpressure on all outputs, every block of a bundle, n from 1 to
    N_MAX; the parameters of consecutive blocks come from different addresses, and a forced reload."""
    tb = await start(dut)
    model = Model(seed=2)
    tb.store_words(model.words)
    tb.set_stalls(idle=0.3, backpressure=0.4, seed=7)
    sizes = [tb.n_max, 1, 7, 33, 48, 17]
    for i, n in enumerate(sizes):
        await check_block(tb, model, i, model.tokens(i, n), f"block {i} (stalls)")
    res = await check_block(tb, model, 5, model.tokens(5, 9), "block 5 (reload)", reload=True)
    assert res.load_cycles > 0
    await check_block(tb, model, 4, model.tokens(4, 20), "block 4 (no side streams)", cls_out=False)


@cocotb.test()
async def test_link(dut):
    """flags.link: the output tokens leave on m_axis and m_axis_link, the same frame on both (bit-exact); with both
    streams always ready the link costs no cycle; under random backpressure on each stream on its own, every run
    stays exact (a beat leaves when both have taken it)."""
    tb = await start(dut)
    model = Model(seed=8)
    tb.store_words(model.words)
    x = model.tokens(2, 33)
    await check_block(tb, model, 2, x, "block 2 (fetch)")
    plain = await check_block(tb, model, 2, x, "block 2 (on chip)")
    linked = await check_block(tb, model, 2, x, "block 2 (on chip, link)", link=True)
    assert linked.cycles == plain.cycles, f"the link cost {linked.cycles - plain.cycles} cycles"
    tb.set_stalls(idle=0.2, backpressure=0.5, seed=3)
    for i, n in enumerate((tb.n_max, 1, 16, 40)):
        await check_block(tb, model, i, model.tokens(i, n), f"block {i} (link, stalls)", link=True)
        await check_block(tb, model, i, model.tokens(i, n), f"block {i} (no link, stalls)")


def with_distinct_tables(tb: BlockTB, model: Model) -> list[tuple[int, int]]:
    """Give every block its own GELU table (a random bundle's blocks share one, so a wrong set's table would not show
    in the outputs), store the model's words twice and return the 2 x depth (block, address) places."""
    depth = model.bundle.config.depth
    rng = np.random.default_rng(4)
    for i in range(depth):
        model.bundle.arrays[f"blocks.{i}.mlp.act.lut"] = rng.integers(-128, 128, 256).astype(np.int8)
    model.words, model.offsets = pack_blocks(model.bundle, model.stages)
    copy = PARAM_BASE + ((4 * model.words.size + 0xFFF) & ~0xFFF) + 0x30  # 16-byte aligned, not 4 KiB aligned
    tb.store_words(model.words)
    tb.store_words(model.words, base=copy)
    return [(i, model.addr(i)) for i in range(depth)] + [(i, copy - PARAM_BASE + model.addr(i)) for i in range(depth)]


@cocotb.test()
async def test_parameter_sets(dut):
    """The core's PARAM_SETS parameter sets, tagged by address: the first runs at S new addresses fetch, the next runs
    at them do not; one more address takes the oldest set, a reload fetches into the set holding the address (no
    other set is lost), and every run is exact. The model's words are stored twice, so there are 2 x depth
    addresses; every block has its own GELU table."""
    tb = await start(dut)
    model = Model(seed=4)
    places = with_distinct_tables(tb, model)
    sets = tb.param_sets
    assert 1 <= sets < len(places), f"the test needs more addresses than the core's {sets} sets"

    async def run(k: int, fetch: bool, **kw):
        i, addr = places[k]
        res = await check_block(tb, model, i, model.tokens(i, 9), f"address {k} (block {i})", addr=addr, **kw)
        assert (res.load_cycles > 0) == fetch, f"address {k}: {'no ' if fetch else ''}fetch expected, " \
                                               f"{res.load_cycles} load cycles"

    for k in range(sets):
        await run(k, fetch=True)
    for k in range(sets):
        await run(k, fetch=False)
    await run(sets, fetch=True)          # takes set 0 (address 0's)
    if sets > 1:
        await run(1, fetch=False)
    await run(0, fetch=True)             # address 0 was evicted; it takes the next set in turn
    await run(0, fetch=True, reload=True)
    await run(0, fetch=False)
    if sets > 2:
        await run(sets, fetch=False)     # the reload took address 0's own set
        await run(2, fetch=False)


@cocotb.test()
async def test_prefetch(dut):
    """flags.prefetch, bit for bit (each block has its own GELU table and weights, so a wrong set or head shows).
    Two sets or more: a run fetches the next address's parameters into another set, during the run and past its
    ap_done. One set: once the run's qkv layer is done, the next address's LN1/qkv words (the head) go into those
    memories, and the next run fetches only the rest."""
    tb = await start(dut)
    model = Model(seed=5)
    places = with_distinct_tables(tb, model)

    async def run(k: int, n: int, prefetch: int | None = None, **kw):
        i, addr = places[k]
        pf = None if prefetch is None else places[prefetch][1]
        return await check_block(tb, model, i, model.tokens(i, n), f"address {k} (block {i})", addr=addr,
                                 prefetch_addr=pf, **kw)

    if tb.param_sets > 1:
        await prefetch_into_sets(tb, run)
    else:
        await prefetch_head(tb, run, [addr for _, addr in places], dense_words(model.bundle),
                            head_words(model.bundle))


async def prefetch_into_sets(tb: BlockTB, run):
    """The next run finds the prefetched words on chip, or (right after a short run) takes the rest as they arrive;
    a run at another address waits for the prefetch and fetches its own; a reload of the address being prefetched
    refetches; a prefetch of the run's own address fetches nothing; a reset abandons a prefetch."""
    full = (await run(0, 1, prefetch=1)).load_cycles  # fetches its own words, then address 1's
    assert full > 0 and await tb.fetching(), "no prefetch under way after a one-token run"
    await tb.loader_idle()
    assert (await run(1, 40, prefetch=2)).load_cycles == 0, "prefetched words fetched again"
    # right after a one-token run its prefetch is still under way: the next run takes the rest as it arrives
    await tb.loader_idle()
    await run(2, 1, prefetch=3)
    res = await run(3, 20)
    assert 0 < res.load_cycles < full, f"joined a prefetch: {res.load_cycles} load cycles (a whole fetch: {full})"
    assert (await run(3, 5)).load_cycles == 0, "a joined prefetch left its set invalid"
    # a run at another address than the one being prefetched waits for the loader, then fetches its own words
    await run(3, 1, prefetch=4)
    assert (await run(5, 9)).load_cycles > full // 2
    assert (await run(4, 9)).load_cycles == 0, "the prefetch was lost to a run at another address"
    # a reload of the address under prefetch: the run takes the set over and refetches; the prefetch never validates it
    await run(4, 1, prefetch=6)
    assert (await run(6, 9, reload=True)).load_cycles > full // 2
    assert (await run(6, 9)).load_cycles == 0
    # prefetching the run's own address fetches nothing
    await run(6, 3, prefetch=6)
    assert not await tb.fetching(), "a prefetch of the run's own (valid) parameters"
    # a reset while a prefetch is under way: the run at that address fetches everything
    await run(6, 1, prefetch=7)
    assert await tb.fetching()
    await tb.reset(cycles=3)
    assert (await run(7, 9)).load_cycles > full // 2, "a prefetch survived the reset"


async def prefetch_head(tb: BlockTB, run, addrs: list[int], words: int, head: int):
    """One set: the run that prefetches stays exact while the head is written under it; the next run at that address
    fetches only its tail (a shorter run, and every word of the address read once), also when it starts before the
    head is in; a run at another address, a reload, the same address again and a reset fetch everything. The simulated
    DDR counts the bytes read at each address."""
    read, got = tb.ram._read, [0] * len(addrs)

    async def counting_read(address, length):
        for k, a in enumerate(addrs):
            got[k] += max(0, min(address + length, a + 16 * words) - max(address, a))
        return await read(address, length)

    tb.ram._read = counting_read
    W, H = 16 * words, 16 * head
    whole = await run(0, 20, prefetch=1)  # its own words, then address 1's head
    await tb.loader_idle()
    tail = await run(1, 20, prefetch=2)
    assert tail.load_cycles < 0.75 * whole.load_cycles and tail.cycles < whole.cycles, (tail, whole)
    await tb.loader_idle()
    # right after a one-token run its head prefetch is still under way: the next run waits for it, then the tail
    await run(2, 1, prefetch=3)
    assert await tb.fetching()
    await run(3, 20, prefetch=4)
    await tb.loader_idle()
    # another address than the head's: everything, and the head is gone
    await run(5, 20)
    await run(4, 20, prefetch=6)
    await tb.loader_idle()
    await run(6, 20, reload=True, prefetch=7)  # a reload does not take the prefetched head
    await tb.loader_idle()
    await run(6, 20)  # the head prefetch of 7 took its LN1/qkv memories: everything again
    assert got[:8] == [W, W, W, W, H + W, W, H + 2 * W, H], [(g - W) / 16 for g in got[:8]]
    # the run's own address as `next`: nothing to fetch
    assert (await run(6, 20, prefetch=6)).load_cycles == 0 and not await tb.fetching()
    assert (await run(6, 20)).load_cycles == 0
    # a reset while a head prefetch is under way: the run at that address fetches everything
    await run(6, 1, prefetch=8)
    assert await tb.fetching()
    await tb.reset(cycles=3)
    before = got[8]
    await run(8, 20)
    assert 0 < before < H and got[8] == before + W
    tb.ram._read = read


@cocotb.test()
async def test_axi_error(dut):
    """A read response other than OKAY (the simulated DDR answers SLVERR inside one block's words): the run that
    fetched them reports status.axi_error and keeps its set invalid, so the next run at that address fetches again
    and is exact. A prefetch that sees the error (into another set, or with one set the next block's head) is not kept
    either, and does not mark the run that issued it."""
    tb = await start(dut)
    model = Model(seed=6)
    places = with_distinct_tables(tb, model)
    read = tb.ram._read
    bad = set()

    async def failing_read(address, length):
        if any(lo <= address < hi for lo, hi in bad):
            raise OSError(f"injected read error at {address:#x}")
        return await read(address, length)

    tb.ram._read = failing_read

    async def run(k: int, n: int = 9, **kw):
        i, addr = places[k]
        return await check_block(tb, model, i, model.tokens(i, n), f"address {k} (block {i})", addr=addr, **kw)

    def poison(k: int):
        word = places[k][1] + 16 * 40  # a word of the qkv weights
        bad.add((word, word + 16))

    poison(2)
    i, addr = places[2]
    res = await tb.run_block(model.tokens(i, 9), model.regs(i), addr, axi_error=True)
    assert res.load_cycles > 0 and not res.status & RTL_STATUS["params_valid"]
    bad.clear()
    res = await run(2)
    assert res.load_cycles > 0 and res.status & RTL_STATUS["params_valid"], "a failed fetch was kept"
    poison(4)
    await run(3, n=1, prefetch_addr=places[4][1])  # its own fetch is clean: no error reported
    await tb.loader_idle()
    bad.clear()
    assert (await run(4)).load_cycles >= 0.9 * res.load_cycles, "a prefetch that saw an AXI error was kept"
    assert (await run(4)).load_cycles == 0


@cocotb.test()
async def test_reset_mid_run(dut):
    """Reset while the parameters are being fetched, during attention and while tokens stream out; the clean run
    after each is exact (and fetches the parameters again: a reset forgets them)."""
    tb = await start(dut)
    model = Model(seed=3)
    tb.store_words(model.words)
    tb.set_stalls(backpressure=0.5, seed=11)
    for delay in (200, 4000, 9000):
        run = cocotb.start_soon(tb.run_block(model.tokens(1, 65), model.regs(1), model.addr(1)))
        await ClockCycles(dut.clk, delay)
        assert not run.done(), f"the run ended within {delay} cycles"
        run.cancel()
        await tb.reset(cycles=3)
        res = await check_block(tb, model, 1, model.tokens(1, 65), f"after a reset at cycle {delay}")
        assert res.load_cycles > 0, "parameters kept across a reset"
