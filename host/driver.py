"""The spvit host driver: `Accelerator(bundle, backend=...)` runs a model bundle on the accelerator, image by image.

    acc = Accelerator(bundle, backend="board", bitstream="build/spvit.bit")   # or "golden" / "rtl"
    traces = acc.infer(images)            # int8 [B, C, H, W] -> per-image trace dicts (golden Trace.per_image())
    report = acc.throughput_test(images)  # host / packing / DMA / compute seconds and images/s

The host flow is the one spvit.sim.hls_backend.HlsBackend runs: the patch embedding (§11.1) and the head (§11.4) on
the host CPU (golden NumPy), every encoder block in the `encoder_block` IP core and every pruning stage in the
`prune_stage` IP core, the token sequence staying in device buffers from block to block, the host keeping the token
ids from the source indices prune_stage writes. Every register value is derived from the bundle once, by
spvit.sim.block_regs; every byte layout is host/pack.py's.

Backends:
- `golden`: the IP cores computed by the golden model at register level (host/emulator.py), fed through the same
  pack layer and register encoding, with the DMA simulated by in-memory copies. No pynq, no tools.
- `board`: pynq -- an Overlay of the HLS design (bitstream + .hwh), the cores bound by VLNV, AXI DMA transfers
  (host/board.py). On a PC, `host.shim.ShimDevice` emulates the board underneath pynq.
- `rtl`: spvit.sim.rtl_backend.RtlBackend (the whole model in Verilator-simulated RTL: sim/tb/model/model_tb.sv),
  one simulator session per `infer` call.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np

from spvit.sim import block_regs
from spvit.sim.golden.model import head, patch_embed, per_stage

from . import emulator, pack
from .errors import BackendUnavailable, BoardUnavailable, DriverError, ModelMismatchError, StreamError, \
    TooManyTokensError
from .ip import HLS_IP_DIMS, IpDims, encoder_block_spec, prune_stage_spec

BACKENDS = ("golden", "rtl", "board")


@dataclass
class Timing:
    """Seconds spent, summed over the images of a run (host/driver.py; the board's are wall-clock on its CPU)."""

    images: int = 0
    host_s: float = 0.0      # patch embedding, head, token-id bookkeeping (host CPU)
    pack_s: float = 0.0      # packing tokens into / unpacking results out of the buffers, register encoding
    transfer_s: float = 0.0  # DMA programming, waits, cache flush / invalidate (golden: simulated copies)
    compute_s: float = 0.0   # IP cores: argument registers + ap_start .. ap_done (golden / rtl: the simulation)
    total_s: float = 0.0     # wall clock of the whole run

    @property
    def images_per_s(self) -> float:
        return self.images / self.total_s if self.total_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"images_per_s": self.images_per_s}

    def __str__(self) -> str:
        return (f"{self.images} image(s) in {self.total_s:.4f} s = {self.images_per_s:.1f} images/s (host "
                f"{self.host_s:.4f} s, packing {self.pack_s:.4f} s, transfer {self.transfer_s:.4f} s, compute "
                f"{self.compute_s:.4f} s)")


class _Clock:
    """Adds the time since the last tick to one Timing field: `clock.tick("pack_s")`."""

    def __init__(self, timing: Timing):
        self.timing = timing
        self.last = time.perf_counter()

    def tick(self, field: str) -> None:
        now = time.perf_counter()
        setattr(self.timing, field, getattr(self.timing, field) + now - self.last)
        self.last = now


class GoldenEngine:
    """The two IP cores computed by host/emulator.py. Arguments go through the register encoding (two's-complement
    fields of their C++ widths) and back, tokens through 128-bit beats with TLAST, parameters and scores through
    their m_axi words: what the cores would see."""

    name = "golden"

    def __init__(self, dims: IpDims, timing: Timing):
        self.dims, self.timing = dims, timing
        self.block_spec, self.prune_spec = encoder_block_spec(dims), prune_stage_spec(dims)
        self.mem = self.stream = self.score_words = None

    @staticmethod
    def _through_registers(spec, args: dict[str, int]) -> dict[str, int]:
        return {a.name: pack.decode_arg(a, pack.encode_arg(a, args[a.name])) for a in spec.args}

    def load_weights(self, words: np.ndarray) -> None:
        self.mem = np.array(words, dtype=np.uint32)  # "written once"

    def put_tokens(self, tokens) -> None:
        clock = _Clock(self.timing)
        data, tlast = pack.tokens_to_beats(tokens)
        clock.tick("pack_s")
        self.stream = (data.copy(), tlast)
        clock.tick("transfer_s")

    def _out(self, out_bytes, clock) -> np.ndarray:
        data = np.array(out_bytes, dtype=np.uint8).reshape(-1, pack.BEAT_BYTES)
        tlast = np.zeros(len(data), dtype=bool)
        tlast[-1:] = True
        self.stream = (data, tlast)
        clock.tick("transfer_s")
        tokens = pack.beats_to_tokens(data, self.dims.embed_dim, tlast)
        clock.tick("pack_s")
        return tokens

    def encoder_block(self, regs: dict, n: int, want_scores: bool):
        pack.check_token_count(n, self.dims)
        clock = _Clock(self.timing)
        seen = self._through_registers(self.block_spec, pack.encoder_block_args(self.block_spec, regs, n, 0, 0))
        clock.tick("pack_s")
        out, self.score_words, ret = emulator.encoder_block(self.dims, seen, self.mem, *self.stream)
        clock.tick("compute_s")
        if not ret:
            raise StreamError("encoder_block returned false: TLAST misplaced on its input stream")
        tokens = self._out(out, clock)
        scores = pack.unpack_u16_words(self.score_words, n) if want_scores else None
        clock.tick("pack_s")
        return tokens, scores

    def prune_stage(self, n: int, tail: int, k: int, threshold, package: bool):
        pack.check_token_count(n, self.dims)
        clock = _Clock(self.timing)
        args = pack.prune_stage_args(self.prune_spec, n, tail, k, threshold, package, 0, 0, self.dims.n_max)
        seen = self._through_registers(self.prune_spec, args)
        clock.tick("pack_s")
        out, source_words, count = emulator.prune_stage(self.dims, seen, self.score_words, *self.stream)
        clock.tick("compute_s")
        if count == 0:
            raise StreamError("prune_stage returned 0 tokens: TLAST misplaced on its input stream")
        tokens = self._out(out, clock)
        sources = pack.unpack_u16_words(source_words, count)
        clock.tick("pack_s")
        return tokens, sources

    def close(self) -> None:
        pass


class Accelerator:
    """A model bundle on the spvit accelerator (see the module docstring).

    bundle:    spvit.sim.golden.Bundle (load_bundle / random_bundle)
    backend:   "golden" | "rtl" | "board"
    bitstream: the .bit (with its .hwh beside it) for the board backend
    k, threshold: run-time overrides per stage, as golden `forward` takes them (an int for all stages, or a list)
    timeout:   seconds a core or a DMA channel may take before AcceleratorTimeout (board)
    ip_dims:   the dimensions the IP cores were built for (board default: host.ip.HLS_IP_DIMS; golden default: the
               model's own); a model that does not fit raises ModelMismatchError / TooManyTokensError
    device:    a pynq Device for the board backend (default: pynq's active device; host.shim.ShimDevice emulates one)
    download:  program the bitstream when opening the overlay (board)
    """

    def __init__(self, bundle, backend: str = "golden", bitstream=None, *, k=None, threshold=None,
                 timeout: float = 5.0, ip_dims: IpDims | None = None, device=None, download: bool = True):
        if backend not in BACKENDS:
            raise BackendUnavailable(f"unknown backend {backend!r}; the driver runs {', '.join(BACKENDS)}")
        cfg = bundle.config
        self.bundle, self.backend, self.k, self.threshold = bundle, backend, k, threshold
        if threshold is not None and cfg.prune.select != "threshold":
            raise DriverError(f"a threshold was given, but model {cfg.name} selects by top-k (prune.select: topk)")
        need = IpDims.for_config(cfg)
        self.dims = ip_dims or (HLS_IP_DIMS if backend == "board" else need)
        self._check_fits(need)
        self.stages = block_regs.stage_blocks(bundle)
        self.words, self.offsets = pack.model_words(bundle)
        self.regs = [block_regs.block_regs(bundle, i, self.offsets[i], self.stages) for i in range(cfg.depth)]
        spec = encoder_block_spec(self.dims)
        for regs in self.regs:  # every value must fit its register (RegisterRangeError now, not mid-run)
            for arg in spec.args:
                if not arg.pointer and arg.name != "n":
                    pack.encode_arg(arg, regs[arg.name])
        self.timing = Timing()
        self.last_traces: list[dict] = []
        self._rtl = None
        if backend == "golden":
            self.engine = GoldenEngine(self.dims, self.timing)
        elif backend == "board":
            if bitstream is None:
                raise BoardUnavailable("the board backend needs bitstream= (the .bit, with its .hwh beside it)")
            from .board import BoardEngine  # imports pynq

            self.engine = BoardEngine(bitstream, self.dims, self.timing, timeout=timeout, device=device,
                                      download=download)
        else:
            self.engine = None
            self._rtl = self._rtl_backend()
        if self.engine is not None:
            start = time.perf_counter()
            self.engine.load_weights(self.words)
            self.timing.transfer_s += time.perf_counter() - start
            self.load_s = time.perf_counter() - start

    def _check_fits(self, need: IpDims) -> None:
        d = self.dims
        if (need.embed_dim, need.num_heads, need.mlp_hidden) != (d.embed_dim, d.num_heads, d.mlp_hidden) or (
                self.bundle.config.prune.score == "spvit" and need.se_width != d.se_width):
            raise ModelMismatchError(f"model {self.bundle.config.name} has D={need.embed_dim}, H={need.num_heads}, "
                                     f"MLP={need.mlp_hidden}, selector width {need.se_width}; the IP cores were built "
                                     f"for D={d.embed_dim}, H={d.num_heads}, MLP={d.mlp_hidden}, width {d.se_width}")
        if need.embed_dim % 16:
            raise ModelMismatchError(f"D={need.embed_dim} is not a whole number of 16-channel beats")
        if need.n_max > d.n_max:
            raise TooManyTokensError(f"model {self.bundle.config.name} runs up to {need.n_max} tokens (class token, "
                                     f"{self.bundle.config.num_patches} patches, {self.bundle.config.num_stages} "
                                     f"package tokens); the IP cores hold N_MAX={d.n_max}")

    def _rtl_backend(self):
        try:
            from spvit.sim.rtl_backend import RtlBackend
        except ImportError as exc:  # pragma: no cover - the module ships with the project
            raise BackendUnavailable(f"backend 'rtl' needs spvit.sim.rtl_backend: {exc}") from None
        try:
            return RtlBackend(self.bundle, k=self.k, threshold=self.threshold)
        except ValueError as exc:
            raise ModelMismatchError(f"backend 'rtl': {exc}") from None

    # -- stages --------------------------------------------------------------------------------------------------------
    def _stage(self, s: int) -> tuple[int, int, int | None, bool]:
        """(n_protected_tail, k, threshold or None, package) of stage s (§9, §10, §11.3)."""
        cfg, bd = self.bundle.config, self.bundle
        k = per_stage(self.k, s)
        k = bd.stage_k(s) if k is None else k
        threshold = None
        if cfg.prune.select == "threshold":
            threshold = per_stage(self.threshold, s)
            threshold = bd.stage_threshold(s) if threshold is None else threshold
        return (s if cfg.prune.package else 0), int(k), threshold, bool(cfg.prune.package)

    # -- running ------------------------------------------------------------------------------------------------------------
    def _image(self, image: np.ndarray) -> dict[str, np.ndarray]:
        bd, cfg, eng = self.bundle, self.bundle.config, self.engine
        clock = _Clock(self.timing)
        x = patch_embed(bd, image[None])[0]
        n = len(x)
        ids = np.arange(n, dtype=np.int64)
        clock.tick("host_s")
        eng.put_tokens(x)
        trace: dict[str, np.ndarray] = {}
        for i in range(cfg.depth):
            s = self.stages.get(i)
            x, scores = eng.encoder_block(self.regs[i], n, want_scores=s is not None)
            trace[f"blocks.{i}.out"] = x
            if s is not None:
                trace[f"stages.{s}.scores"] = scores
                tail, k, threshold, package = self._stage(s)
                x, sources = eng.prune_stage(n, tail, k, threshold, package)
                clock.last = time.perf_counter()
                ids = pack.follow_sources(ids, sources, n, s)
                n = len(x)
                if n > self.dims.n_max:
                    raise TooManyTokensError(f"stage {s} left {n} tokens; N_MAX is {self.dims.n_max}")
                trace[f"stages.{s}.kept_ids"] = ids
                clock.tick("host_s")
        clock.last = time.perf_counter()
        trace["logits"] = head(bd, x[None], bd.frac(f"blocks.{cfg.depth - 1}.out"))[0].astype(np.int64)
        clock.tick("host_s")
        return trace

    def infer(self, images) -> list[dict[str, np.ndarray]]:
        """int8 images [B, C, H, W] (or one [C, H, W]) -> one trace dict per image: `logits` (int32 accumulators),
        `blocks.<i>.out`, and per stage `stages.<s>.scores` and `stages.<s>.kept_ids` (the original ids of the
        tokens kept, package tokens -1 - s), as golden Trace.per_image() -- spvit.sim.backends.compare takes them."""
        imgs = pack.check_images(images, self.bundle.config)
        start = time.perf_counter()
        if self._rtl is not None:
            out = self._rtl.run(imgs)
            self.timing.compute_s += time.perf_counter() - start
        else:
            out = [self._image(img) for img in imgs]
        self.timing.images += len(imgs)
        self.timing.total_s += time.perf_counter() - start
        self.last_traces = out
        return out

    def predict(self, images) -> np.ndarray:
        """Class index of each image (argmax of the logits)."""
        return np.array([int(np.argmax(t["logits"])) for t in self.infer(images)], dtype=np.int64)

    def throughput_test(self, images, repeats: int = 1) -> dict:
        """Run `images` `repeats` times; returns the Timing of those runs as a dict (host, packing, transfer and
        compute seconds, total, images/s) plus the backend and the one-off parameter load time."""
        saved = self.timing
        self.timing = Timing()
        if self.engine is not None:
            self.engine.timing = self.timing
        try:
            for _ in range(repeats):
                self.infer(images)
            report = self.timing.as_dict() | {"backend": self.backend, "load_s": getattr(self, "load_s", 0.0)}
        finally:
            for f in fields(Timing):
                setattr(saved, f.name, getattr(saved, f.name) + getattr(self.timing, f.name))
            self.timing = saved
            if self.engine is not None:
                self.engine.timing = saved
        return report

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
