"""`spvit demo`: the embedded default main job, end to end on the digits-on-canvas model.

1. train the digits model, or reuse a finished run: the run folder's own, else the release shipped in
   quant/pretrained/<config> (spvit.quant.pretrained; --retrain trains),
2. export its integers as the golden bundle,
3. run test images through the host driver (spvit.host) on golden (NumPy IP cores), hls (the real pynq package over
   an emulated ZCU102 whose cores are the g++ C-simulated hw/hls kernels) and rtl (Verilator-simulated hw/rtl), plus
   torch (the trained model's integer eval form), and compare each with golden tensor by tensor, bit for bit,
4. write report.md with PNG plots: accuracy against latency budget, token keep maps, cycles per block against token
   count, resource use against the ZCU102, and the bit-exact verdict per backend.

Exit status 0 only when every backend that ran agrees with golden on every tensor.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path("runs") / "demo"
LABELS = {"golden": "golden via the driver", "torch": "torch integer mode", "hls": "hls via pynq (emulated board)",
          "rtl": "rtl via the driver"}


def _step(message: str) -> float:
    print(f"== {message}", flush=True)
    return time.perf_counter()


def finished(run: Path, config: str) -> bool:
    """A run folder whose checkpoint completed every phase of `config`'s training schedule."""
    from spvit.quant.train import PHASES, TrainConfig

    log = run / "log.json"
    if not (run / "ckpt.pt").is_file() or not log.is_file():
        return False
    done = [r["phase"] for r in json.loads(log.read_text())]
    epochs = TrainConfig.from_yaml(config).epochs
    return all(done.count(p) >= epochs[p] for p in PHASES)


def _through_driver(bundle, backend: str, images, folder: Path):
    """Traces of `images` through the host driver (spvit.host.Accelerator). `hls` is the board path itself: the real
    pynq package over an emulated ZCU102 (host/shim.py) whose IP cores compute with the C-simulated HLS kernels."""
    from spvit.host import Accelerator

    if backend != "hls":
        with Accelerator(bundle, backend=backend) as acc:
            return acc.infer(images)
    from spvit.host.shim import emulated_board

    dev, bit = emulated_board(folder, engine="hls")
    with dev, Accelerator(bundle, backend="board", bitstream=bit, device=dev) as acc:
        return acc.infer(images)


def run_backends(bundle, model, images, rtl_images: int, folder: Path) -> dict:
    """{backend: (traces, seconds, images run)}; a backend that cannot run here maps to its reason (a string).
    golden, hls and rtl run through the host driver; torch is the trained model's integer eval form."""
    from spvit.host import BackendUnavailable as DriverUnavailable
    from spvit.sim.backends import BackendUnavailable, make_backend

    out = {}
    for name, label in LABELS.items():
        imgs = images[:rtl_images] if name == "rtl" else images
        start = time.perf_counter()
        try:
            if name == "torch":
                traces = make_backend("torch", bundle, model=model).run(imgs)
            else:
                traces = _through_driver(bundle, name, imgs, folder)
        except (BackendUnavailable, DriverUnavailable) as exc:
            out[label] = str(exc)
            print(f"   {label}: unavailable ({exc})")
            continue
        seconds = time.perf_counter() - start
        out[label] = (traces, seconds, len(imgs))
        print(f"   {label}: {len(imgs)} image(s) in {seconds:.1f} s")
    return out


def demo(out: Path = DEFAULT_OUT, config: str = "digits", images: int | None = None, rtl_images: int = 8,
         retrain: bool = False) -> int:
    from spvit.cli import test_images
    from spvit.quant import pretrained
    from spvit.quant.export import IntegerModel
    from spvit.quant.train import load_checkpoint, train
    from spvit.sim.backends import compare

    out = Path(out)
    run = out / "train"
    t0 = time.perf_counter()
    if retrain or not finished(run, config):
        if retrain and run.exists():
            shutil.rmtree(run)
        if not retrain and pretrained.restore(config, run):
            _step(f"reusing the released training run {pretrained.folder(config)} (`spvit train --config {config}`; "
                  "--retrain trains it here, 10-12 min on 2 cores)")
        else:
            _step(f"training {config} into {run} (dense float -> int8 QAT -> pruning fine-tune)")
            train(config, run, resume=True)
    else:
        _step(f"reusing the finished training run {run}")
    start = _step("exporting the integer model (the golden bundle)")
    model = load_checkpoint(run / "ckpt.pt")
    bundle = IntegerModel(model).bundle()
    bundle_path = bundle.save(out / "model.npz")
    print(f"   {bundle_path}: checksum {bundle.checksum()[:16]}... ({time.perf_counter() - start:.1f} s)")

    x, what = test_images(bundle, images, seed=0)
    _step(f"running {what} through the backends (rtl: the first {min(rtl_images, len(x))})")
    from spvit.sim.backends import make_backend

    golden = make_backend("golden", bundle).run(x)  # the reference: spvit.sim.golden.forward itself
    runs = run_backends(bundle, model, x, rtl_images, out / "emulated_board")
    verdicts = []
    for name, result in runs.items():
        if isinstance(result, str):
            verdicts.append((name, None, None, result))
            continue
        traces, seconds, count = result
        compared, mismatched, reports = compare(golden[:count], traces)
        verdicts.append((name, compared, mismatched, f"{count} images in {seconds:.1f} s"))
        for line in reports:
            print(f"   MISMATCH {name}: {line}")
    _step("writing the report")
    from spvit.report import write_demo_report

    path = write_demo_report(out, run, bundle, x, golden, verdicts)
    ok = all(m == 0 for _, c, m, _ in verdicts if c is not None)
    ran = [v for v in verdicts if v[1] is not None]
    print(f"   {path}")
    for name, compared, mismatched, note in verdicts:
        verdict = "unavailable" if compared is None else f"{compared} tensors, {mismatched} mismatched"
        print(f"   {name} vs golden: {verdict} ({note})")
    print(f"demo {'PASSED' if ok and ran else 'FAILED'} in {(time.perf_counter() - t0) / 60:.1f} min")
    return 0 if ok and ran else 1


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the main job: train (or reuse), export, run every backend, compare, report",
                       description=__doc__.split("\n\n")[0] + " Writes RUN/report.md.")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"run folder (default {DEFAULT_OUT})")
    p.add_argument("--config", default="digits", help="a digits config (default digits; digits_asvit: AS-ViT mode)")
    p.add_argument("--images", type=int, default=None, help="test images for golden/torch/hls (default: all)")
    p.add_argument("--rtl-images", type=int, default=8, help="test images for the rtl backend (default 8)")
    p.add_argument("--retrain", action="store_true", help="train again even if the run folder has a finished run")
    p.set_defaults(func=lambda args: demo(args.out, args.config, args.images, args.rtl_images, args.retrain))
