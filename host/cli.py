"""`spvit run`: a model bundle on the board (or the emulated board / golden / rtl) over a folder of images.

    spvit run model.npz --board zcu102 --bitstream build/spvit.bit --images DIR

spvit/cli.py hooks it in with `add_run_arguments(subparser)` and `run_on_board(args)`. Images: a folder of
PNG / JPEG / BMP files (optionally in class sub-folders named by the class index, e.g. DIR/3/img.png, which adds
an accuracy line), or a .npy array [B, C, H, W] -- integer = already int8 at the bundle's input frac, float =
normalised pixels. Pictures are read as the training data was (quant/data.py): grey or RGB, resized to the model's
image size, scaled to [0, 1], normalised (digits-on-canvas: (x - 0.1) / 0.3; otherwise the ImageNet mean and
standard deviation), then quantized with spvit.sim.golden.quantize_input at the bundle's input frac (§12.1).
Without a board it fails with a message that says what is missing and exit status 2 (1 when images are missing).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .driver import BACKENDS, Accelerator
from .errors import DriverError

# quant/data.py's normalisation (that module imports torch, which a board does not have); tests/test_host_driver.py
# checks these against it
DIGITS_MEAN, DIGITS_STD = 0.1, 0.3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}


def add_run_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("model", type=Path, help="model bundle (.npz) from `spvit export` / `spvit bundle random`")
    p.add_argument("--images", type=Path, required=True,
                   help="folder of PNG/JPEG images (class sub-folders 0, 1, ... add accuracy) or a .npy [B, C, H, W]")
    p.add_argument("--board", default="zcu102", help="board the bitstream was built for (boards/<board>/board.yaml)")
    p.add_argument("--bitstream", type=Path, help="the accelerator's .bit, with its .hwh beside it (backend board)")
    p.add_argument("--backend", choices=BACKENDS, default="board",
                   help="board (default; pynq on the board), golden (the cores simulated by the golden model), rtl")
    p.add_argument("--emulate", action="store_true",
                   help="board backend on the emulated board (pynq device shim) instead of hardware; writes its "
                        "own .bit/.hwh unless --bitstream is given")
    p.add_argument("--limit", type=int, help="use at most this many images")
    p.add_argument("--repeat", type=int, default=1, help="run the images this many times for the timing")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds a core or DMA may take (board)")
    return p


def _normalise(x: np.ndarray, cfg) -> np.ndarray:
    """x float [B, C, H, W] in [0, 1] -> the training normalisation."""
    if cfg.name.startswith("digits") and cfg.in_chans == 1:
        return (x - DIGITS_MEAN) / DIGITS_STD
    if cfg.in_chans == 3:
        mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    else:
        mean, std = np.array([np.mean(IMAGENET_MEAN)]), np.array([np.mean(IMAGENET_STD)])
    return (x - mean[None, :, None, None]) / std[None, :, None, None]


def load_images(path: Path, bundle, limit: int | None = None) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """(int8 images [B, C, H, W], their names, class labels or None) from a folder or a .npy."""
    from spvit.sim.golden import quantize_input

    cfg = bundle.config
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_file():
        if path.suffix != ".npy":
            raise ValueError(f"{path}: give a folder of images or a .npy array")
        a = np.load(path, allow_pickle=False)
        if limit is not None:
            a = a[:limit]
        names = [f"{path.name}[{i}]" for i in range(len(a))]
        if np.issubdtype(a.dtype, np.floating):
            a = quantize_input(a, bundle.frac("input"))
        return a, names, None
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
    if limit is not None:
        files = files[:limit]
    if not files:
        raise FileNotFoundError(f"{path}: no images ({', '.join(sorted(SUFFIXES))})")
    try:
        from PIL import Image
    except ImportError:
        raise DriverError("reading PNG/JPEG images needs pillow (pip install pillow), or give a .npy") from None
    mode = "RGB" if cfg.in_chans == 3 else "L"
    arrays = []
    for f in files:
        img = Image.open(f).convert(mode)
        if img.size != (cfg.img_size, cfg.img_size):
            img = img.resize((cfg.img_size, cfg.img_size), Image.BILINEAR)
        arrays.append(np.asarray(img, dtype=np.float64).reshape(cfg.img_size, cfg.img_size, cfg.in_chans) / 255.0)
    x = _normalise(np.stack(arrays).transpose(0, 3, 1, 2), cfg)
    parents = [f.parent.name for f in files]
    labels = None
    if all(f.parent != path for f in files) and all(p.isdigit() for p in parents):
        labels = np.array([int(p) for p in parents])
    return quantize_input(x, bundle.frac("input")), [str(f.relative_to(path)) for f in files], labels


def _check_board(board: str, bitstream: Path | None) -> None:
    """The board exists (boards/<board>/board.yaml, when the source tree is at hand) and the .hwh targets its part."""
    boards = Path(__file__).resolve().parent.parent / "boards"
    yaml_path = boards / board / "board.yaml"
    if not boards.is_dir():
        return
    if not yaml_path.is_file():
        known = sorted(p.name for p in boards.iterdir() if (p / "board.yaml").is_file())
        raise DriverError(f"unknown board {board!r}; known: {', '.join(known)}")
    if bitstream is None or not bitstream.with_suffix(".hwh").is_file():
        return
    import re

    import yaml

    part = str(yaml.safe_load(yaml_path.read_text())["part"])
    head = bitstream.with_suffix(".hwh").read_text(encoding="utf-8", errors="replace")[:4000]
    m = re.search(r'<SYSTEMINFO[^>]*DEVICE="([^"]+)"', head)
    if m and not part.startswith(m.group(1)):
        raise DriverError(f"{bitstream.with_suffix('.hwh')} targets {m.group(1)}; board {board} is {part}")


def run_on_board(args) -> int:
    """The `spvit run` command (see the module docstring). Returns the exit status."""
    from spvit.sim.golden import BundleError, load_bundle

    def fail(message: str, status: int = 2) -> int:
        print(f"spvit run: error: {message}", file=sys.stderr)
        return status

    try:
        bundle = load_bundle(args.model)
    except (BundleError, OSError) as exc:
        return fail(f"cannot load the model bundle {args.model}: {exc}")
    try:
        images, names, labels = load_images(args.images, bundle, args.limit)
    except (OSError, ValueError) as exc:
        return fail(str(exc), 1)
    except DriverError as exc:
        return fail(str(exc))
    options = dict(timeout=args.timeout)
    shim = None
    try:
        if args.backend == "board":
            _check_board(args.board, args.bitstream)
            if args.emulate:
                import tempfile

                from .errors import BoardUnavailable
                try:
                    from .shim import ShimDevice
                except ImportError as exc:
                    raise BoardUnavailable(f"--emulate needs pynq (pip install 'pynq==4.0.0'): {exc}") from None
                from .hwh import write_design

                shim = ShimDevice()
                shim.__enter__()
                bitstream = args.bitstream or write_design(tempfile.mkdtemp(prefix="spvit-emulated-"))
                options.update(device=shim)
            else:
                bitstream = args.bitstream
                if bitstream is None:
                    return fail("the board backend needs --bitstream (the .bit with its .hwh beside it; "
                                "build it with `make -C boards BOARD=zcu102 IMPL=hls`), or --emulate")
            acc = Accelerator(bundle, "board", bitstream=bitstream, **options)
            where = f"{'emulated ' if args.emulate else ''}{args.board}, {bitstream}"
        else:
            acc = Accelerator(bundle, args.backend)
            where = f"backend {args.backend}"
        print(f"model: {args.model} ({bundle.config.name}); {len(images)} image(s) from {args.images}; {where}")
        report = acc.throughput_test(images, repeats=max(1, args.repeat))
        traces = acc.last_traces
        preds = [int(np.argmax(t["logits"])) for t in traces]
        acc.close()
    except DriverError as exc:
        return fail(str(exc))
    finally:
        if shim is not None:
            shim.__exit__(None, None, None)
    for name, p in zip(names[:32], preds):
        print(f"  {name}: {p}")
    if len(names) > 32:
        print(f"  ... ({len(names) - 32} more)")
    if labels is not None:
        print(f"accuracy: {np.mean(np.array(preds) == labels):.4f} ({int(np.sum(np.array(preds) == labels))}"
              f"/{len(labels)})")
    if traces:
        kept = [len(traces[0][k]) for k in sorted(traces[0]) if k.endswith("kept_ids")]
        if kept:
            print(f"tokens after each stage (first image): {kept}")
    print(f"timing: {report['images']} image(s) in {report['total_s']:.4f} s = {report['images_per_s']:.1f} images/s; "
          f"host {report['host_s']:.4f} s, packing {report['pack_s']:.4f} s, DMA {report['transfer_s']:.4f} s, "
          f"compute {report['compute_s']:.4f} s (parameters loaded once in {report['load_s']:.4f} s)")
    return 0


def main(argv=None) -> int:  # pragma: no cover - `python -m spvit.host.cli` until spvit/cli.py hooks it in
    parser = add_run_arguments(argparse.ArgumentParser(prog="spvit run", description=__doc__.split("\n\n")[0]))
    return run_on_board(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
