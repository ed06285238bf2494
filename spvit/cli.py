"""The `spvit` command line: one subcommand per user task, growing with each backend."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from spvit import __version__
from spvit.configs import DEFAULT, ConfigError, load_config, names
from spvit.sim.backends import NAMES as BACKENDS
from spvit.sim.backends import BackendUnavailable, compare, make_backend
from spvit.sim.golden import BundleError, load_bundle, random_bundle
from spvit.sim.selfcheck import selfcheck


def random_images(cfg, count: int, seed: int) -> np.ndarray:
    """Seeded int8 inputs at the bundle's input scale (the full int8 range, saturation corners included)."""
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, size=(count, cfg.in_chans, cfg.img_size, cfg.img_size), dtype=np.int64)


def test_images(bundle, count: int | None, seed: int) -> tuple[np.ndarray, str]:
    """The digits-on-canvas test set quantized at the bundle's input frac (§12.1), or random inputs for other
    configs. count None = all."""
    cfg = bundle.config
    if cfg.name.startswith("digits") and cfg.in_chans == 1:
        from spvit.quant.data import DigitsCanvas
        from spvit.sim.golden import quantize_input

        ds = DigitsCanvas(cfg, train=False, seed=0)
        n = len(ds) if count is None else min(count, len(ds))
        return quantize_input(ds.canvases[:n], bundle.frac("input")), f"{n} digits-on-canvas test image(s)"
    n = 8 if count is None else count
    return random_images(cfg, n, seed), f"{n} random input image(s)"


def load_model_source(args):
    """(bundle, torch model or None, description) from a bundle, a training checkpoint, or --random."""
    if args.random:
        return random_bundle(load_config(args.config), seed=args.seed), None, f"random bundle ({args.config}, seed {args.seed})"
    if args.bundle.suffix == ".pt":
        from spvit.quant.export import IntegerModel
        from spvit.quant.train import load_checkpoint

        model = load_checkpoint(args.bundle)
        return IntegerModel(model).bundle(), model, f"checkpoint {args.bundle} (golden runs its export)"
    return load_bundle(args.bundle), None, str(args.bundle)


def cmd_simulate(args) -> int:
    bundle, model, source = load_model_source(args)
    cfg = bundle.config
    count = None if args.images == "all" else int(args.images)
    if args.random:
        images, what = random_images(cfg, count or 8, args.seed), f"{count or 8} random input image(s)"
    else:
        images, what = test_images(bundle, count, args.seed)
    print(f"model: {source}; {what}")
    runs = {}
    for name in [args.backend] + ([args.compare] if args.compare else []):
        start = time.perf_counter()
        runs[name] = make_backend(name, bundle, model=model).run(images)
        print(f"{name:>7}: ran {len(images)} image(s) in {time.perf_counter() - start:.2f} s")
    predictions = [int(np.argmax(t["logits"])) for t in runs[args.backend]]
    kept = [[len(t[k]) for k in sorted(t) if k.endswith("kept_ids")] for t in runs[args.backend]]
    print(f"predictions: {predictions[:16]}{' ...' if len(predictions) > 16 else ''}")
    if kept and kept[0]:
        print(f"tokens after each stage (first image): {kept[0]}")
    if not args.compare:
        return 0
    compared, mismatched, reports = compare(runs[args.backend], runs[args.compare])
    for line in reports:
        print(f"  MISMATCH {line}")
    print(f"compared {len(images)} image(s), {compared} tensors: {mismatched} mismatched "
          f"({args.backend} vs {args.compare})")
    return 1 if mismatched else 0


def cmd_selfcheck(args) -> int:
    return 0 if selfcheck(load_config(args.config), images=args.images, seed=args.seed) else 1


def cmd_bundle(args) -> int:
    if args.action == "random":
        bundle = random_bundle(load_config(args.config), seed=args.seed)
        print(f"wrote {bundle.save(args.path)} ({args.config}, seed {args.seed})")
        return 0
    bundle = load_bundle(args.path)
    cfg = bundle.config
    count = sum(a.size for a in bundle.arrays.values())
    print(f"{args.path}: valid bundle, config {cfg.name}, {len(bundle.arrays)} arrays, {count:,} integers")
    print(f"  {cfg.depth} blocks x {cfg.embed_dim} dims x {cfg.num_heads} heads, {cfg.num_patches} patches, "
          f"{cfg.num_classes} classes")
    print(f"  pruning: {cfg.prune.score}/{cfg.prune.select} after blocks {list(cfg.prune.after_blocks)}, "
          f"k = {[bundle.stage_k(s) for s in range(cfg.num_stages)]}, package token {cfg.prune.package}")
    print(f"  checksum {bundle.checksum()}")
    return 0


def cmd_train(args) -> int:
    from spvit.quant.train import train

    epochs = None
    if args.epochs:
        epochs = dict(zip(("float", "qat", "prune"), (int(e) for e in args.epochs.split(","))))
    train(args.config, args.out, resume=args.resume, seed=args.seed, data=args.data, epochs=epochs,
          batch_size=args.batch_size, sparsity_loss=args.sparsity_loss)
    print(f"run folder: {args.out} (ckpt.pt, log.csv, log.json, report.md, summary.json, plots)")
    return 0


def cmd_export(args) -> int:
    from spvit.quant.export import IntegerModel
    from spvit.quant.train import load_checkpoint

    model = load_checkpoint(args.checkpoint)
    bundle = IntegerModel(model).bundle()
    print(f"wrote {bundle.save(args.out)} (config {bundle.config.name}, checksum {bundle.checksum()[:16]}...)")
    if args.qonnx:
        from spvit.quant.export import export_qonnx_model

        export_qonnx_model(model, args.qonnx)
        print(f"wrote {args.qonnx} (QONNX of the dense quantized backbone)")
    return 0


def cmd_configs(args) -> int:
    for name in names():
        c = load_config(name)
        print(f"{name:<12} {c.img_size}px/{c.patch_size} -> {c.num_patches} patches, {c.depth} blocks, "
              f"{c.embed_dim} dims, {c.num_heads} heads; {c.prune.score} pruning after {list(c.prune.after_blocks)}, "
              f"keep {list(c.prune.keep_ratios)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spvit", description=__doc__)
    parser.add_argument("--version", action="version", version=f"spvit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("simulate", help="run a model through one backend, optionally compare bit-exactly with a second",
                       description="Run images through one backend; with --compare, run them through a second one "
                                   "and compare every tensor exactly. Exits 1 on any mismatch, 2 when a backend is "
                                   "unavailable.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("bundle", nargs="?", type=Path, help="model bundle (.npz) from `spvit export` / `spvit bundle random`, "
                     "or a training checkpoint (ckpt.pt: the torch backend runs it, golden runs its export)")
    src.add_argument("--random", action="store_true", help="use a random valid bundle generated for --config")
    p.add_argument("--config", default=DEFAULT, help=f"config for --random (default {DEFAULT}): {', '.join(names())}")
    p.add_argument("--backend", choices=BACKENDS, default="golden", help="backend to run (default golden)")
    p.add_argument("--compare", choices=BACKENDS, help="second backend to compare with, tensor by tensor, bit for bit")
    p.add_argument("--images", default="8", help="number of input images, or `all` (default 8); digits models "
                   "use the digits-on-canvas test set, others random int8 inputs")
    p.add_argument("--seed", type=int, default=0, help="seed of the random bundle and inputs")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("selfcheck", help="check the golden model on a generated model (batch independence, invariants)",
                       description="Generate a random model bundle, save and reload it, run images through the "
                                   "golden model and check the contract's invariants; prints a summary.")
    p.add_argument("--config", default=DEFAULT, help=f"model config (default {DEFAULT})")
    p.add_argument("--images", type=int, default=32, help="number of random images (default 32)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_selfcheck)

    p = sub.add_parser("bundle", help="write a random bundle, or validate and describe one",
                       description="`spvit bundle random PATH --config NAME` writes a random valid bundle; "
                                   "`spvit bundle info PATH` validates a bundle and prints what it holds.")
    p.add_argument("action", choices=("random", "info"))
    p.add_argument("path", type=Path)
    p.add_argument("--config", default=DEFAULT)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser("train", help="train a pruned ViT: dense float -> int8 QAT -> pruning fine-tune",
                       description="Train with Brevitas fixed-point QAT. Writes ckpt.pt (resumable), log.csv/json, "
                                   "report.md, summary.json and plots to --out. Multi-process: "
                                   "torchrun --nproc_per_node=N -m spvit.cli train ...")
    p.add_argument("--config", default=DEFAULT, help="config name or YAML path (model + train sections)")
    p.add_argument("--out", type=Path, required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue from --out/ckpt.pt")
    p.add_argument("--seed", type=int)
    p.add_argument("--data", help="ImageFolder root with train/ and val/ (default: digits-on-canvas)")
    p.add_argument("--epochs", help="epochs of the float,qat,prune phases, e.g. 30,4,8")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--sparsity-loss", choices=("latency", "ratio", "flops"), help="pruning budget loss")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="write the golden bundle (.npz) of a trained checkpoint",
                       description="Export the integers of a trained model (ckpt.pt) as a model bundle.")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True, help="bundle path (.npz)")
    p.add_argument("--qonnx", type=Path, help="also write the dense quantized backbone as QONNX (.onnx)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("configs", help="list the shipped model configs", description="List the shipped model configs.")
    p.set_defaults(func=cmd_configs)

    from spvit.bench import add_parser as add_bench_parser
    from spvit.demo import add_parser as add_demo_parser
    from spvit.hw_build import add_parser as add_hw_parser

    add_bench_parser(sub)
    add_demo_parser(sub)
    add_hw_parser(sub)

    from spvit.host.cli import add_run_arguments, run_on_board

    p = sub.add_parser("run", help="on-board inference through the PYNQ driver (on a ZCU102, or --emulate)",
                       description="Run a model bundle on the accelerator: images from a folder (PNG/JPEG) or a .npy.")
    add_run_arguments(p)
    p.set_defaults(func=run_on_board)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "simulate" and args.random == bool(args.bundle):
        build_parser().error("simulate: give a BUNDLE or --random")
    try:
        return args.func(args)
    except (BundleError, ConfigError) as exc:
        print(f"spvit: error: {exc}", file=sys.stderr)
        return 2
    except BackendUnavailable as exc:
        print(f"spvit: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
