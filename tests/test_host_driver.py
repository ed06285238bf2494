"""spvit.host: the host driver (issue #6) -- pack layer round trips, the IP interfaces against the HLS tops, the golden,
board (real pynq over the emulated board, host/shim.py) and rtl paths bit-exact against the golden model, the
register programming sequence, cache discipline, timeouts, DMA errors, bad inputs, and `spvit run`.

The board tests need the real pynq package (4.0.0; the project's `board` extra): skipped without it on a
developer's machine, failed under CI=true (CI installs it).
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from spvit.configs import load_config
from spvit.host import (AcceleratorTimeout, BoardUnavailable, DmaError, DriverError, InputDtypeError,
                        InputRangeError, InputShapeError, ModelMismatchError, RegisterRangeError, StreamError,
                        TooManyTokensError, cli, emulator, hwh, ip, pack)
from spvit.host.driver import Accelerator, Timing
from spvit.sim import block_regs
from spvit.sim.backends import compare
from spvit.sim.golden import forward, random_bundle

REPO = Path(__file__).resolve().parent.parent
D = ip.HLS_IP_DIMS


@lru_cache(maxsize=None)
def bundle(name: str = "digits", seed: int = 0):
    return random_bundle(load_config(name), seed=seed)


def images(cfg, count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (count, cfg.in_chans, cfg.img_size, cfg.img_size))


def assert_exact(bd, imgs, got, **overrides):
    compared, mismatched, reports = compare(forward(bd, imgs, **overrides).per_image(), got)
    assert compared and not mismatched, reports


@pytest.fixture(scope="module")
def pynq(require_module):
    return require_module("pynq")  # the board extra (pynq==4.0.0)


@pytest.fixture
def board(pynq, tmp_path):
    """(ShimDevice, .bit path of the emulated design), the shim pynq's active device for the test."""
    from spvit.host.shim import emulated_board

    dev, bit = emulated_board(tmp_path)
    with dev:
        yield dev, bit


# ---- pack layer -----------------------------------------------------------------------------------------------------------
def test_tokens_beats_round_trip():
    rng = np.random.default_rng(1)
    for n in (1, 7, D.n_max):
        x = rng.integers(-128, 128, (n, D.embed_dim))
        beats, tlast = pack.tokens_to_beats(x)
        assert beats.shape == (n * D.beats, 16) and beats.dtype == np.uint8
        t, c = rng.integers(0, n, 50), rng.integers(0, D.embed_dim, 50)
        # channel c of token t: byte c % 16 of beat c / 16 of that token
        assert np.array_equal(beats[t * D.beats + c // 16, c % 16].view(np.int8), x[t, c])
        assert tlast[-1] and not tlast[:-1].any()
        assert np.array_equal(pack.beats_to_tokens(beats, D.embed_dim, tlast), x)
        assert np.array_equal(pack.tokens_to_bytes(x), beats.reshape(-1))
    bad = tlast.copy()
    bad[0] = True
    with pytest.raises(StreamError, match="TLAST"):
        pack.beats_to_tokens(beats, D.embed_dim, bad)
    with pytest.raises(StreamError, match="whole tokens"):
        pack.beats_to_tokens(beats[:-1], D.embed_dim)
    with pytest.raises(RegisterRangeError):
        pack.tokens_to_bytes(np.full((1, 16), 128))


@pytest.mark.parametrize("name", ["digits", "digits_asvit"])
def test_parameter_words_round_trip(name):
    """block_param_specs / unpack_words read back exactly what block_regs.pack_blocks (pack_words) wrote."""
    bd = bundle(name, 2)
    words, offsets = pack.model_words(bd)
    stages = block_regs.stage_blocks(bd)
    ends = offsets[1:] + [words.size // 4]
    for i, (start, end) in enumerate(zip(offsets, ends)):
        spvit = i in stages and bd.config.prune.score == "spvit"
        specs = pack.block_param_specs(ip.IpDims.for_config(bd.config), spvit)
        arrays = block_regs.block_arrays(bd, i, stages)
        assert len(specs) == len(arrays)
        got, after = pack.unpack_words(words, specs, start)
        assert after == end
        for (spec_name, shape, bits, _), (want, want_bits) in zip(specs, arrays):
            assert bits == want_bits and got[spec_name].shape == np.shape(want), spec_name
            assert np.array_equal(got[spec_name], np.asarray(want, dtype=np.int64)), spec_name


def test_scores_sources_and_args():
    rng = np.random.default_rng(3)
    v = rng.integers(0, 2**16, 61)
    words = pack.pack_u16_words(v, D.score_words)
    raw = words.astype("<u4").tobytes()
    assert words.size == 4 * D.score_words and raw[2 * 61:] == b"\0" * (len(raw) - 122)
    assert int.from_bytes(raw[2 * 9:2 * 10], "little") == v[9]  # lane 1 of word 1
    assert np.array_equal(pack.unpack_u16_words(words, 61), v)
    with pytest.raises(StreamError):
        pack.pack_u16_words(np.zeros(8 * D.score_words + 1), D.score_words)
    ids = np.array([0, 5, 9, 12, -1])
    assert pack.follow_sources(ids, np.array([0, 2, 4, 5]), 5, 1).tolist() == [0, 9, -1, -2]
    with pytest.raises(StreamError):
        pack.follow_sources(ids, np.array([6]), 5, 1)
    shift = ip.encoder_block_spec().arg("q_shift")
    for value in (-64, -1, 0, 63):
        assert pack.decode_arg(shift, pack.encode_arg(shift, value)) == value
    assert pack.encode_arg(shift, -1) == 0x7F
    for bad in (-65, 64):
        with pytest.raises(RegisterRangeError):
            pack.encode_arg(shift, bad)
    eps = ip.encoder_block_spec().arg("ln1_eps")
    assert pack.encode_arg(eps, 2**40) == 2**40
    with pytest.raises(RegisterRangeError):
        pack.encode_arg(eps, 2**41)


# ---- the IP interfaces against the HLS tops ------------------------------------------------------------------------------
def _prototype_args(top: str) -> list[str]:
    """Parameter names of `<top>_top` in hw/hls/vitis/tops/<top>.cpp, the AXI-Stream ones left out."""
    text = (REPO / "hw/hls/vitis/tops" / f"{top}.cpp").read_text()
    sig = re.search(rf"{top}_top\((.*?)\)\s*\{{", text, re.S).group(1)
    names = [re.findall(r"\w+", p)[-1] for p in sig.split(",")]
    return [n for n in names if n not in ("s_axis", "m_axis")]


@pytest.mark.parametrize("spec", [ip.encoder_block_spec(), ip.prune_stage_spec()], ids=lambda s: s.name)
def test_specs_match_hls_tops(spec):
    assert [a.name for a in spec.args] == _prototype_args(spec.name)
    text = (REPO / "hw/hls/vitis/tops" / f"{spec.name}.cpp").read_text()
    lite = re.findall(r"INTERFACE s_axilite port = (\w+)", text)
    maxi = re.findall(r"INTERFACE m_axi port = (\w+)", text)
    assert sorted(a.name for a in spec.args if not a.pointer) == sorted(p for p in lite if p != "return")
    assert sorted(a.name for a in spec.args if a.pointer) == sorted(maxi)
    assert spec.vlnv == f"spvit:hls:{spec.name}:1.0"
    accel = (REPO / "boards/common/accel.tcl").read_text()
    assert f"vlnv {spec.vlnv}" in accel
    assert "-vendor spvit -library hls -version 1.0" in (REPO / "hw/hls/vitis/build_prj.tcl").read_text()


def test_ip_dims_match_hls_build():
    hpp = (REPO / "hw/hls/vitis/tops/spvit_ip.hpp").read_text()
    cfg = re.search(r"struct block_config[^{]*\{(.*?)\};", hpp, re.S).group(1)
    vals = {k: int(v) for k, v in re.findall(r"(\w+) = (\d+);", cfg)}
    assert (vals["n_max"], vals["n_chan"], vals["n_heads"], vals["n_hidden"], vals["se_width"]) == \
        (D.n_max, D.embed_dim, D.num_heads, D.mlp_hidden, D.se_width)
    assert ip.IpDims.for_config(load_config("digits")) == D
    words = {k: int(v) for k, v in re.findall(r"#define SPVIT_IP_(\w+)_WORDS (\d+)", hpp)}
    assert words["SCORE"] == D.score_words and words["SOURCE"] == D.source_words


def test_vitis_register_layout():
    """Vitis HLS: ap_return at 0x10, then every argument from 0x18; 64-bit ones take lo, hi and a reserved word."""
    enc = {r.name: r.offset for r in ip.vitis_registers(ip.encoder_block_spec())}
    assert [enc[k] for k in ("ap_return", "mem_1", "mem_2", "scores_1", "scores_2", "n", "weights", "ln1_eps_1",
                             "ln1_eps_2", "ln1_shift", "q_shift")] == \
        [0x10, 0x18, 0x1C, 0x24, 0x28, 0x30, 0x38, 0x40, 0x44, 0x4C, 0x54]
    pru = {r.name: r.offset for r in ip.vitis_registers(ip.prune_stage_spec())}
    assert [pru[k] for k in ("ap_return", "scores_1", "sources_1", "n", "n_protected_tail", "k", "threshold_mode",
                             "threshold", "package")] == [0x10, 0x18, 0x24, 0x30, 0x38, 0x40, 0x48, 0x50, 0x58]


def test_hwh_dma_matches_board_yaml():
    import yaml

    board = yaml.safe_load((REPO / "boards/zcu102/board.yaml").read_text())
    dma = board["dma"]
    assert hwh.DMA_PARAMS == {k: dma[k] for k in hwh.DMA_PARAMS} and not dma["scatter_gather"]
    assert hwh.CLOCK_MHZ == board["clock_mhz"]
    assert board["part"].startswith("xczu9eg")


# ---- the golden path ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,seed", [("digits", 0), ("digits", 1), ("digits_asvit", 0)])
def test_golden_backend_matches_golden(name, seed):
    bd = bundle(name, seed)
    imgs = images(bd.config, 3, seed)
    acc = Accelerator(bd, "golden")
    assert_exact(bd, imgs, acc.infer(imgs))
    assert acc.timing.images == 3 and acc.timing.compute_s > 0


def test_golden_backend_overrides():
    bd = bundle("digits", 4)
    imgs = images(bd.config, 2, 4)
    assert_exact(bd, imgs, Accelerator(bd, "golden", k=[40, 3]).infer(imgs), k=[40, 3])
    bd = bundle("digits_asvit", 4)
    assert_exact(bd, imgs, Accelerator(bd, "golden", threshold=9000).infer(imgs), threshold=9000)
    with pytest.raises(DriverError, match="threshold"):
        Accelerator(bundle("digits", 4), "golden", threshold=5)


def test_emulator_framing():
    """A misplaced TLAST makes the cores return false / 0, as the HLS tops do."""
    bd = bundle()
    acc = Accelerator(bd, "golden")
    x = np.random.default_rng(0).integers(-128, 128, (5, D.embed_dim))
    data, tlast = pack.tokens_to_beats(x)
    args = pack.encoder_block_args(ip.encoder_block_spec(), acc.regs[0], 5, 0, 0)
    assert emulator.encoder_block(D, args, acc.words, data, tlast)[2] == 1
    assert emulator.encoder_block(D, args, acc.words, data, np.roll(tlast, 1))[2] == 0
    pargs = dict(n=5, n_protected_tail=0, k=2, threshold_mode=0, threshold=0, package=1)
    words = pack.pack_u16_words([9, 1, 7, 3, 5], D.score_words)
    out, src, count = emulator.prune_stage(D, pargs, words, data, tlast)
    assert count == 4 and pack.unpack_u16_words(src, 4).tolist() == [0, 2, 4, 5]
    assert emulator.prune_stage(D, pargs, words, data, ~tlast)[2] == 0


# ---- bad inputs: named errors ---------------------------------------------------------------------------------------------------
BAD_INPUTS = [
    (np.zeros((2, 1, 16, 16), dtype=np.int8), InputShapeError),
    (np.zeros((1, 3, 32, 32), dtype=np.int8), InputShapeError),
    (np.zeros((1, 1, 1, 32, 32), dtype=np.int8), InputShapeError),
    (np.zeros((0, 1, 32, 32), dtype=np.int8), InputShapeError),
    (np.zeros((1, 1, 32, 32), dtype=np.float32), InputDtypeError),
    (np.zeros((1, 1, 32, 32), dtype=bool), InputDtypeError),
    (np.full((1, 1, 32, 32), 300, dtype=np.int16), InputRangeError),
    (np.full((1, 1, 32, 32), 200, dtype=np.uint8), InputRangeError),
]


def _check_bad_inputs(acc):
    for x, err in BAD_INPUTS:
        with pytest.raises(err):
            acc.infer(x)
        assert issubclass(err, DriverError)
    assert len(acc.infer(np.zeros((1, 32, 32), dtype=np.int8))) == 1  # one image [C, H, W] is fine


def test_bad_inputs_golden():
    _check_bad_inputs(Accelerator(bundle(), "golden"))


def test_too_many_tokens_and_mismatch_golden():
    with pytest.raises(TooManyTokensError, match="N_MAX=64"):
        Accelerator(bundle(), "golden", ip_dims=ip.IpDims(64, 4, 128, 2, n_max=64))
    with pytest.raises(TooManyTokensError):
        pack.check_token_count(D.n_max + 1, D)
    with pytest.raises(ModelMismatchError):
        Accelerator(bundle(), "golden", ip_dims=ip.IpDims(128, 4, 128, 2, 67))
    acc = Accelerator(bundle(), "golden")
    with pytest.raises(TooManyTokensError):
        acc.engine.encoder_block(acc.regs[0], D.n_max + 1, False)


def test_board_without_pynq_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pynq", None)
    monkeypatch.delitem(sys.modules, "spvit.host.board", raising=False)
    with pytest.raises(BoardUnavailable, match="pynq"):
        Accelerator(bundle(), "board", bitstream=tmp_path / "x.bit")
    with pytest.raises(BoardUnavailable, match="bitstream"):
        Accelerator(bundle(), "board")


# ---- the board path: real pynq over the emulated board -----------------------------------------------------------------
def test_overlay_binds_cores_by_vlnv(board, pynq):
    from spvit.host.board import EncoderBlockIP, PruneStageIP

    dev, bit = board
    ol = pynq.Overlay(str(bit), device=dev)
    assert isinstance(ol.encoder_block, EncoderBlockIP) and isinstance(ol.prune_stage, PruneStageIP)
    assert type(ol.dma_encoder_block).__name__ == "DMA"
    assert ol.ip_dict["encoder_block"]["registers"]["weights"]["address_offset"] == 0x38
    assert ol.encoder_block.register_map.CTRL.AP_IDLE == 1  # pynq's own RegisterMap over the shim
    assert abs(dev.pl_clock_mhz(0) - hwh.CLOCK_MHZ) < 0.1  # pynq.ps.Clocks set pl_clk0 from the .hwh


@pytest.mark.parametrize("name,seed", [("digits", 0), ("digits_asvit", 1)])
def test_board_backend_matches_golden(board, name, seed):
    dev, bit = board
    bd = bundle(name, seed)
    imgs = images(bd.config, 3, seed)
    acc = Accelerator(bd, "board", bitstream=bit, device=dev)
    assert_exact(bd, imgs, acc.infer(imgs))
    assert not dev.errors
    report = acc.throughput_test(imgs[:2])
    assert report["images"] == 2 and report["images_per_s"] > 0 and report["backend"] == "board"
    for key in ("host_s", "pack_s", "transfer_s", "compute_s"):
        assert 0 <= report[key] <= report["total_s"]
    assert acc.timing.images == 5


def test_register_programming_sequence(board):
    """The exact ordered register writes of one image: per block S2MM (address, length), every encoder_block
    argument in prototype order (64-bit ones low word first), ap_start, MM2S; per stage the same for prune_stage."""
    dev, bit = board
    bd = bundle("digits", 5)
    img = images(bd.config, 1, 5)
    acc = Accelerator(bd, "board", bitstream=bit, device=dev)
    eng = acc.engine
    ref = forward(bd, img).per_image()[0]
    dev.writes.clear()
    acc.infer(img)

    def u32(v):
        return [(v & 0xFFFFFFFF), v >> 32]

    def args(spec, values):
        out = []
        for r in ip.vitis_registers(spec):
            if r.arg != "ap_return":
                a = spec.arg(r.arg)
                out.append((spec.name, r.offset, ((values[r.arg] & ((1 << a.bits) - 1)) >> r.first)
                            & ((1 << r.bits) - 1)))
        return out

    def run(kernel, spec, values, n_in, cap, cur):
        src, dst = eng.tokens[cur].physical_address, eng.tokens[1 - cur].physical_address
        dma = f"dma_{kernel}"
        return ([(dma, 0x48, u32(dst)[0]), (dma, 0x4C, u32(dst)[1]), (dma, 0x58, cap)] + args(spec, values)
                + [(kernel, 0x00, 1), (dma, 0x18, u32(src)[0]), (dma, 0x1C, u32(src)[1]), (dma, 0x28, n_in * 64)])

    want, n, cur = [], 1 + bd.config.num_patches, 0
    stages = block_regs.stage_blocks(bd)
    for i in range(bd.config.depth):
        values = dict(block_regs.block_regs(bd, i, acc.offsets[i], stages), n=n, mem=eng.weights.physical_address,
                      scores=eng.scores.physical_address)
        want += run("encoder_block", ip.encoder_block_spec(), values, n, n * 64, cur)
        cur = 1 - cur
        if i in stages:
            s = stages[i]
            values = dict(scores=eng.scores.physical_address, sources=eng.sources.physical_address, n=n,
                          n_protected_tail=s, k=bd.stage_k(s), threshold_mode=0, threshold=0, package=1)
            want += run("prune_stage", ip.prune_stage_spec(), values, n, (n + 1) * 64, cur)
            cur = 1 - cur
            n = len(ref[f"stages.{s}.kept_ids"])
    assert dev.writes == want
    assert u32(eng.tokens[0].physical_address)[1] != 0  # buffers above 4 GiB: the high words are exercised


def test_cache_discipline(board, monkeypatch, pynq):
    """The emulated DDR is not coherent: without the invalidates after S2MM the host reads stale bytes."""
    dev, bit = board
    buf = pynq.allocate((64,), np.uint8, target=dev)
    buf[:] = 7
    assert bytes(dev.ddr.view(buf.physical_address, 64)) == b"\0" * 64
    buf.flush()
    assert bytes(dev.ddr.view(buf.physical_address, 64)) == b"\x07" * 64
    dev.ddr.view(buf.physical_address, 4)[:] = b"\x01\x02\x03\x04"
    assert buf[0] == 7
    buf.invalidate()
    assert buf[:5].tolist() == [1, 2, 3, 4, 7]

    bd = bundle()
    imgs = images(bd.config, 1)
    acc = Accelerator(bd, "board", bitstream=bit, device=dev)
    assert_exact(bd, imgs, acc.infer(imgs))
    from pynq.buffer import PynqBuffer

    monkeypatch.setattr(PynqBuffer, "invalidate", lambda self: None)
    with pytest.raises((AssertionError, DriverError)):
        assert_exact(bd, imgs, acc.infer(imgs))


@pytest.mark.parametrize("fault,key", [
    ("hang_core", "encoder_block"), ("hang_core", "prune_stage"),
    ("dma_hang", ("dma_encoder_block", "s2mm")), ("dma_hang", ("dma_prune_stage", "mm2s")),
])
def test_timeouts_then_recovery(board, fault, key):
    dev, bit = board
    bd = bundle()
    imgs = images(bd.config, 1)
    acc = Accelerator(bd, "board", bitstream=bit, device=dev, timeout=0.05)
    dev.faults[fault].add(key)
    with pytest.raises(AcceleratorTimeout, match="ap_done|not idle"):
        acc.infer(imgs)
    dev.faults[fault].clear()
    assert_exact(bd, imgs, acc.infer(imgs))  # the engine reloaded the overlay first


@pytest.mark.parametrize("dma,ch,bit_,text", [
    ("dma_encoder_block", "s2mm", 0x20, "DMASlvErr"), ("dma_encoder_block", "mm2s", 0x40, "DMADecErr"),
    ("dma_prune_stage", "s2mm", 0x10, "DMAIntErr"),
])
def test_dma_errors_then_recovery(board, dma, ch, bit_, text):
    dev, bit = board
    bd = bundle()
    imgs = images(bd.config, 1)
    acc = Accelerator(bd, "board", bitstream=bit, device=dev, timeout=0.5)
    dev.faults["dma_error"][(dma, ch)] = bit_
    with pytest.raises(DmaError, match=text) as info:
        acc.infer(imgs)
    assert info.value.channel == ch and info.value.status & bit_
    assert_exact(bd, imgs, acc.infer(imgs))


def test_bad_inputs_board(board):
    dev, bit = board
    _check_bad_inputs(Accelerator(bundle(), "board", bitstream=bit, device=dev))
    with pytest.raises(TooManyTokensError):
        Accelerator(bundle(), "board", bitstream=bit, device=dev, ip_dims=ip.IpDims(64, 4, 128, 2, 64))
    with pytest.raises(ModelMismatchError):
        Accelerator(random_bundle(load_config("deit_tiny"), 0), "board", bitstream=bit, device=dev)


def test_board_unavailable(pynq, tmp_path):
    with pytest.raises(BoardUnavailable, match="not found"):
        Accelerator(bundle(), "board", bitstream=tmp_path / "missing.bit")
    bit = hwh.write_design(tmp_path)
    bit.with_suffix(".hwh").unlink()
    with pytest.raises(BoardUnavailable, match="hwh"):
        Accelerator(bundle(), "board", bitstream=bit)
    bit = hwh.write_design(tmp_path)
    with pytest.raises(BoardUnavailable, match="No Devices Found|not a board"):  # this PC has no PYNQ device
        Accelerator(bundle(), "board", bitstream=bit)


def test_board_names_the_rtl_design_it_cannot_run(pynq, tmp_path):
    """An overlay of the RTL design (cores spvit:rtl:*): a named error that says why and what to build instead."""
    from spvit.host.shim import emulated_board

    dev, bit = emulated_board(tmp_path)
    design = bit.with_suffix(".hwh")
    design.write_text(design.read_text().replace("spvit:hls:", "spvit:rtl:"))
    with dev, pytest.raises(BoardUnavailable, match="RTL design.*--impl hls"):
        Accelerator(bundle(), "board", bitstream=bit, device=dev)


@pytest.mark.hls
def test_board_with_hls_csim_behind_the_registers(pynq, tmp_path, require_tool):
    """The same driver over the C-simulated HLS kernels (spvit.sim.hls_kernels) behind the emulated registers."""
    require_tool("g++")
    require_tool("ap_types")
    from spvit.host.shim import emulated_board

    dev, bit = emulated_board(tmp_path, engine="hls")
    bd = bundle("digits", 6)
    imgs = images(bd.config, 1, 6)
    with dev:
        assert_exact(bd, imgs, Accelerator(bd, "board", bitstream=bit, device=dev).infer(imgs))


# ---- rtl ------------------------------------------------------------------------------------------------------------------------
@pytest.mark.rtl
def test_rtl_backend_matches_golden(require_tool):
    require_tool("verilator")
    bd = bundle("digits", 7)
    imgs = images(bd.config, 1, 7)
    acc = Accelerator(bd, "rtl")
    assert_exact(bd, imgs, acc.infer(imgs))
    with pytest.raises(InputShapeError):
        acc.infer(np.zeros((1, 1, 8, 8), dtype=np.int8))


# ---- spvit run ------------------------------------------------------------------------------------------------------------------
def _args(tmp_path, **kw):
    model = tmp_path / "model.npz"
    if not model.exists():
        bundle().save(model)
    base = dict(model=model, images=None, board="zcu102", bitstream=None, backend="board", emulate=False,
                limit=None, repeat=1, timeout=5.0)
    return SimpleNamespace(**(base | kw))


def test_normalisation_matches_training(require_module):
    data = require_module("spvit.quant.data")  # imports torch
    assert (cli.DIGITS_MEAN, cli.DIGITS_STD) == (data.MEAN, data.STD)
    assert np.allclose(cli.IMAGENET_MEAN, data.ImageFolder.MEAN) and np.allclose(cli.IMAGENET_STD, data.ImageFolder.STD)


def test_run_golden_npy(tmp_path, capsys):
    x = images(bundle().config, 3).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    assert cli.run_on_board(_args(tmp_path, images=tmp_path / "x.npy", backend="golden")) == 0
    out = capsys.readouterr().out
    preds = [int(np.argmax(t["logits"])) for t in forward(bundle(), x).per_image()]
    for i, p in enumerate(preds):
        assert f"x.npy[{i}]: {p}" in out
    assert "images/s" in out and "DMA" in out


def test_run_without_board_fails_clearly(tmp_path, capsys):
    x = images(bundle().config, 1).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    assert cli.run_on_board(_args(tmp_path, images=tmp_path / "x.npy")) == 2
    assert "--bitstream" in capsys.readouterr().err
    bit = hwh.write_design(tmp_path / "hw")
    status = cli.run_on_board(_args(tmp_path, images=tmp_path / "x.npy", bitstream=bit))
    err = capsys.readouterr().err
    assert status == 2 and ("pynq" in err or "not a board" in err), err
    assert cli.run_on_board(_args(tmp_path, images=tmp_path / "none")) == 1
    assert cli.run_on_board(_args(tmp_path, images=tmp_path / "x.npy", board="nosuchboard", bitstream=bit)) == 2
    assert "unknown board" in capsys.readouterr().err


def test_run_emulated_png_folder(pynq, tmp_path, capsys, require_module):
    Image = require_module("PIL.Image")
    rng = np.random.default_rng(0)
    for label in (3, 7):
        (tmp_path / "imgs" / str(label)).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(tmp_path / "imgs" / str(label) / "a.png")
    status = cli.run_on_board(_args(tmp_path, images=tmp_path / "imgs", emulate=True, repeat=2))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "3/a.png:" in out and "accuracy:" in out and "4 image(s)" in out and "emulated zcu102" in out
    # the same pictures through the loader, then golden: the printed predictions are the model's
    x, names, labels = cli.load_images(tmp_path / "imgs", bundle())
    assert labels.tolist() == [3, 7] and x.dtype.kind == "i" and x.min() >= -128 and x.max() <= 127
    preds = [int(np.argmax(t["logits"])) for t in forward(bundle(), x).per_image()]
    assert f"3/a.png: {preds[0]}" in out and f"7/a.png: {preds[1]}" in out


def test_timing_dict():
    t = Timing(images=4, total_s=2.0)
    assert t.images_per_s == 2.0 and t.as_dict()["images_per_s"] == 2.0 and "images/s" in str(t)
