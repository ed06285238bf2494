"""Training: dense float -> int8 QAT -> pruning fine-tune, with checkpoints, resume, logs and plots.

The three phases follow SPViT's schedule. Phase `float` trains the backbone with quantization off (fast);
`qat` turns the Brevitas quantizers on (activation scales initialise from statistics, then learn); `prune` adds
the pruning stages (SPViT selector with Gumbel-Softmax, or AS-ViT thresholds) with the latency-aware sparsity loss
(latency LUT of the board, budget = the latency of the config's keep schedule), or the FLOPs-budget / keep-ratio
forms, plus optional distillation from the dense QAT model. In training, the hard keep decisions are the eval rule
itself (top-k of the Gumbel-perturbed selector logits, or the thresholds capped at k) with a straight-through
relaxation, and attention masks pruned keys multiplicatively, so the selector learns from every attention row.

The run folder holds ckpt.pt (resumable after every epoch), dense.pt (the int8 QAT model at the end of QAT, with
its integer accuracy: the baseline of the pruned models, and a starting point for other pruning runs), the logs,
report.md and plots. Multi-process training uses torch.distributed as launched by torchrun (gloo on CPU, nccl on
GPUs): `torchrun --nproc_per_node=N -m spvit.cli train ...`.
"""
from __future__ import annotations

import copy
import csv
import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from spvit.configs import ModelConfig, load_config, load_section

from . import latency as lat
from .data import make_datasets
from .export import IntegerModel, quantize_images
from .layers import set_quant
from .model import PrunedViT, selector_guide_loss

PHASES = ("float", "qat", "prune")


@dataclass
class TrainConfig:
    epochs: dict = field(default_factory=lambda: {"float": 30, "qat": 4, "prune": 8})
    batch_size: int = 64
    lr: float = 2e-3
    qat_lr: float | None = None  # None = lr; QAT starts from a converged float model, so a smaller step keeps it there
    prune_lr: float = 5e-4
    gumbel_scale: float = 1.0  # SPViT: scale of the Gumbel noise that samples the kept tokens in training
    selector_lr: float | None = None  # None = prune_lr; the pruning stages start untrained, the backbone does not
    weight_decay: float = 0.05
    warmup_epochs: float = 0.0  # linear learning-rate warm-up at the start of the float phase
    # Cumulative keep ratios that define the sparsity budget; None = the model's keep_ratios. In threshold mode the
    # model's keep_ratios are only the hardware cap k, and the budget (a mean) lies below it: images then keep
    # their own number of tokens around the budget instead of all sitting at the cap.
    budget_keep_ratios: list | None = None
    steps_per_epoch: int | None = None  # cap on the optimiser steps of an epoch (smoke tests); None = the whole epoch
    repeats: int = 2  # canvases per source digit per epoch
    sparsity_loss: str = "latency"  # latency | ratio | flops
    sparsity_weight: float = 2.0
    distill_weight: float = 0.0  # KL to the dense QAT model during pruning
    guide_weight: float = 0.0  # SPViT: KL from class attention to the selector's ranking (model.selector_guide_loss)
    board: str = "zcu102"
    data: str | None = None  # None/'digits' or an ImageFolder root with train/ and val/
    seed: int = 0
    workers: int = 0

    @classmethod
    def from_yaml(cls, path_or_name: str, **overrides) -> "TrainConfig":
        data = load_section(path_or_name, "train")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown train settings {unknown}; known: {sorted(known)}")
        tc = cls(**data)
        for k, v in overrides.items():
            if v is not None:
                setattr(tc, k, v)
        return tc


def distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainer:
    def __init__(self, cfg: ModelConfig, tc: TrainConfig, out: Path):
        self.cfg, self.tc, self.out = cfg, tc, Path(out)
        self.rank, self.world = distributed()
        seed_everything(tc.seed + self.rank)
        self.model = PrunedViT(cfg)
        self.model.gumbel_scale = tc.gumbel_scale
        self.train_set, self.test_set = make_datasets(cfg, tc.data, tc.seed, tc.repeats)
        self.table = lat.board_table(cfg, tc.board) if cfg.num_stages else None
        self.budget_ratios = list(tc.budget_keep_ratios or cfg.prune.keep_ratios)
        budget_k = [max(1, round(r * cfg.num_patches)) for r in self.budget_ratios]
        self.budget = lat.model_cycles(self.table, lat.tokens_per_block(cfg, budget_k)) if self.table else None
        # AS-ViT's FLOPs budget: the budget schedule's block MACs as a fraction of the dense model's
        dense_macs = cfg.depth * lat.block_macs(cfg, cfg.num_patches + 1)
        self.mac_ratio = sum(lat.block_macs(cfg, n) for n in lat.tokens_per_block(cfg, budget_k)) / dense_macs
        self.history: list[dict] = []
        self.phase, self.epoch = 0, 0  # next epoch to run
        self.teacher = None
        self.opt, self.opt_phase = None, None
        self.int8_dense: dict | None = None  # integer_accuracy of the QAT model, the baseline pruning is judged by

    # -- state -----------------------------------------------------------------------------------------------
    def checkpoint_path(self) -> Path:
        return self.out / "ckpt.pt"

    def save(self) -> None:
        if self.rank:
            return
        state = {"config": self.cfg.to_dict(), "train": asdict(self.tc), "model": self.model.state_dict(),
                 "optimizer": self.opt.state_dict() if self.opt else None, "opt_phase": self.opt_phase, "phase": self.phase, "epoch": self.epoch,
                 "history": self.history, "int8_dense": self.int8_dense, "torch_rng": torch.get_rng_state()}
        tmp = self.checkpoint_path().with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(self.checkpoint_path())

    def resume(self) -> bool:
        """Continue from ckpt.pt: the next epoch is found from the logged history against the *current* epoch
        counts, so a finished run given more epochs (e.g. a longer pruning phase) carries on where it stopped."""
        path = self.checkpoint_path()
        if not path.exists():
            return False
        state = torch.load(path, map_location="cpu", weights_only=False)
        history = state["history"]
        done = {name: sum(r["phase"] == name for r in history) for name in PHASES}
        phase = next((i for i, name in enumerate(PHASES) if done[name] < self.tc.epochs[name]), len(PHASES))
        self._configure_phase(min(phase, len(PHASES) - 1))
        load_model_state(self.model, state["model"])
        if state.get("optimizer") and state.get("opt_phase") == phase:
            self.opt.load_state_dict(state["optimizer"])
        self.phase, self.epoch, self.history = phase, done[PHASES[phase]] if phase < len(PHASES) else 0, history
        self.int8_dense = state.get("int8_dense")
        if "torch_rng" in state:  # a released run (spvit.quant.pretrained) keeps neither optimizer nor RNG state
            torch.set_rng_state(state["torch_rng"])
        return True

    def _configure_phase(self, phase: int) -> None:
        name = PHASES[phase]
        self.opt_phase = phase
        set_quant(self.model, name != "float")
        self.model.prune = name == "prune"
        lr = {"float": self.tc.lr, "qat": self.tc.qat_lr or self.tc.lr, "prune": self.tc.prune_lr}[name]
        stages = list(self.model.stages.parameters())
        ids = {id(p) for p in stages}
        groups = [{"params": [p for p in self.model.parameters() if id(p) not in ids], "lr": lr},
                  {"params": stages, "lr": self.tc.selector_lr if name == "prune" and self.tc.selector_lr else lr}]
        self.opt = torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=self.tc.weight_decay)

    # -- loop ------------------------------------------------------------------------------------------------
    def run(self, resume: bool = False) -> dict:
        self.out.mkdir(parents=True, exist_ok=True)
        if not (resume and self.resume()):
            self._configure_phase(0)
        start_phase = self.phase
        for phase in range(start_phase, len(PHASES)):
            name = PHASES[phase]
            if phase != start_phase or self.opt is None:
                self._configure_phase(phase)
            if name == "prune" and (self.cfg.num_stages == 0):
                break
            first_epoch = self.epoch if phase == start_phase else 0
            if name == "prune" and first_epoch == 0 and self.cfg.prune.select == "threshold":
                self._calibrate_thresholds()
            if name == "prune" and self.tc.distill_weight > 0:
                self.teacher = copy.deepcopy(self.model).eval()
                self.teacher.prune = False
            epochs = self.tc.epochs[name]
            for epoch in range(first_epoch, epochs):
                self.phase, self.epoch = phase, epoch
                row = self._train_epoch(name, epoch, epochs)
                row |= self._evaluate()
                self.history.append(row)
                self.epoch = epoch + 1
                self._log(row)
                self.save()
            if name == "qat" and self.rank == 0:
                self.int8_dense = integer_accuracy(self.model, self.test_set, dense=True)
                tqdm.write(f"[qat] int8 dense (integer eval form): test {self.int8_dense['accuracy']:.4f}")
            self.phase, self.epoch = phase + 1, 0
            self.save()
            if name == "qat" and self.rank == 0:  # the dense int8 model: other pruning runs can start from it
                shutil.copy(self.checkpoint_path(), self.out / "dense.pt")
        return self.history[-1] if self.history else {}

    def _calibrate_thresholds(self) -> None:
        """Start the learnable thresholds at the sparsity budget (model.calibrate_thresholds on training images)."""
        xs = torch.stack([self.train_set[i][0] for i in range(min(512, len(self.train_set)))])
        keep = [max(1, round(r * self.cfg.num_patches)) for r in self.budget_ratios]
        thresholds = self.model.calibrate_thresholds(xs, keep)
        if self.world > 1:  # every process starts from rank 0's values
            for st in self.model.stages:
                dist.broadcast(st.threshold.data, 0)
            thresholds = [float(st.threshold) for st in self.model.stages]
        tqdm.write(f"thresholds calibrated to the budget {keep} kept patches: {[round(t, 5) for t in thresholds]}")

    def _loader(self, dataset, train: bool):
        sampler = DistributedSampler(dataset, shuffle=train, seed=self.tc.seed) if self.world > 1 else None
        return DataLoader(dataset, batch_size=self.tc.batch_size, shuffle=train and sampler is None, sampler=sampler,
                          num_workers=self.tc.workers, drop_last=train), sampler

    def _model_for_step(self):
        if self.world > 1 and not isinstance(getattr(self, "_ddp", None), torch.nn.parallel.DistributedDataParallel):
            self._ddp = torch.nn.parallel.DistributedDataParallel(self.model, find_unused_parameters=True)
        return self._ddp if self.world > 1 else self.model

    def _train_epoch(self, name: str, epoch: int, epochs: int) -> dict:
        cfg, tc = self.cfg, self.tc
        if hasattr(self.train_set, "set_epoch"):
            self.train_set.set_epoch(epoch + 1000 * PHASES.index(name))
        loader, sampler = self._loader(self.train_set, True)
        if sampler:
            sampler.set_epoch(epoch)
        steps = min(len(loader), tc.steps_per_epoch or len(loader))
        for g in self.opt.param_groups:  # the phase's configured rate, before any decay
            g.setdefault("initial_lr", g["lr"])
        model = self._model_for_step()
        self.model.train()
        totals = {"loss": 0.0, "ce": 0.0, "sparsity": 0.0, "correct": 0, "seen": 0}
        bar = tqdm(loader, desc=f"{name} {epoch + 1}/{epochs}", total=steps, disable=self.rank != 0, leave=False,
                   dynamic_ncols=True)
        for step, (x, y) in enumerate(bar):
            if tc.steps_per_epoch is not None and step >= tc.steps_per_epoch:
                break
            done = epoch * steps + step
            warm = min(1.0, (done + 1) / (tc.warmup_epochs * steps)) if name == "float" and tc.warmup_epochs else 1.0
            for g in self.opt.param_groups:  # cosine decay within each phase
                g["lr"] = warm * g["initial_lr"] * 0.5 * (1 + math.cos(math.pi * done / max(1, epochs * steps)))
            logits, aux = model(x)
            ce = F.cross_entropy(logits, y)
            loss = ce
            sparsity = torch.zeros(())
            if name == "prune":
                sparsity = self._sparsity_loss(aux["keep"])
                loss = loss + tc.sparsity_weight * sparsity
                if tc.guide_weight and aux["guides"]:
                    loss = loss + tc.guide_weight * selector_guide_loss(aux["guides"])
                if self.teacher is not None:
                    with torch.no_grad():
                        t_logits, _ = self.teacher(x)
                    loss = loss + tc.distill_weight * F.kl_div(F.log_softmax(logits, -1), F.log_softmax(t_logits, -1),
                                                               log_target=True, reduction="batchmean")
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            totals["loss"] += loss.item() * len(y)
            totals["ce"] += ce.item() * len(y)
            totals["sparsity"] += sparsity.item() * len(y)
            totals["correct"] += int((logits.argmax(-1) == y).sum())
            totals["seen"] += len(y)
            bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{totals['correct'] / totals['seen']:.3f}")
        n = max(1, totals["seen"])
        return {"phase": name, "epoch": epoch + 1, "loss": totals["loss"] / n, "ce": totals["ce"] / n,
                "sparsity_loss": totals["sparsity"] / n, "train_acc": totals["correct"] / n}

    def _sparsity_loss(self, keep_counts):
        cfg, tc = self.cfg, self.tc
        if tc.sparsity_loss == "latency":
            return lat.latency_loss(lat.expected_latency(self.table, keep_counts, cfg), self.budget)
        if tc.sparsity_loss == "flops":
            return lat.flops_budget_loss(keep_counts, cfg, self.mac_ratio)
        targets = torch.tensor(self.budget_ratios, dtype=keep_counts.dtype)
        return ((keep_counts.mean(0) / cfg.num_patches - targets) ** 2).sum()

    @torch.no_grad()
    def _evaluate(self) -> dict:
        """Accuracy of the model as it trains (fake-quantized float eval, hard pruning decisions)."""
        self.model.eval()
        loader, _ = self._loader(self.test_set, False)
        correct = seen = 0
        kept = []
        for x, y in loader:
            logits, aux = self.model(x)
            correct += int((logits.argmax(-1) == y).sum())
            seen += len(y)
            kept.append(aux["keep"])
        row = {"test_acc": correct / max(1, seen)}
        if self.model.prune and kept:
            row |= {f"kept_stage{s}": float(v) for s, v in enumerate(torch.cat(kept).mean(0))}
        return row

    def _log(self, row: dict) -> None:
        if self.rank:
            return
        path = self.out / "log.csv"
        first = ("phase", "epoch")
        keys = sorted({k for r in self.history for k in r}, key=lambda k: (first.index(k) if k in first else 2, k))
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(self.history)
        (self.out / "log.json").write_text(json.dumps(self.history, indent=1))
        extra = " ".join(f"{k}={v:.1f}" for k, v in row.items() if k.startswith("kept_"))
        tqdm.write(f"[{row['phase']} {row['epoch']}] loss {row['loss']:.3f} train {row['train_acc']:.3f} "
                   f"test {row['test_acc']:.3f} {extra}")


def integer_accuracy(model: PrunedViT, dataset, k=None, threshold=None, dense: bool = False, batch: int = 128) -> dict:
    """Accuracy and kept tokens of the integer eval form (what every backend computes, bit for bit)."""
    cfg = model.cfg
    if dense:
        from dataclasses import replace

        from spvit.configs import PruneConfig

        model = copy.copy(model)
        model.cfg = replace(cfg, prune=PruneConfig(score="none"))
        model.stage_after = {}
    im = IntegerModel(model)
    correct = seen = 0
    kept = []
    for start in range(0, len(dataset), batch):
        xs, ys = zip(*(dataset[i] for i in range(start, min(len(dataset), start + batch))))
        trace = im.forward(quantize_images(model, torch.stack(xs)), k=k, threshold=threshold)
        correct += int((trace.logits.argmax(-1) == np.array(ys)).sum())
        seen += len(ys)
        kept.append([[int((ids > 0).sum()) for ids in st] for st in trace.kept_ids])
    per_stage = np.concatenate([np.array(k_).T for k_ in kept], axis=0) if kept and kept[0] else np.zeros((seen, 0))
    return {"accuracy": correct / seen, "kept_patches": per_stage.mean(0).tolist() if per_stage.size else []}


def load_model_state(model: PrunedViT, state: dict) -> None:
    """load_state_dict, strict except for one thing: Brevitas leaves the scale of an activation quantizer that has
    not yet run (still collecting its statistics, e.g. a pruning stage's at the end of QAT) out of the state dict;
    such a quantizer collects them again when it first runs."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(".act_quant.fused_activation_quant_proxy.tensor_quant.scaling_impl.value")]
    if missing or unexpected:
        raise RuntimeError(f"checkpoint does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")


def load_checkpoint(path) -> PrunedViT:
    """A trained model from `spvit train`'s ckpt.pt, in eval mode with quantization on."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = PrunedViT(ModelConfig.from_dict(state["config"]))
    set_quant(model, True)
    load_model_state(model, state["model"])
    return model.eval()


def train(config: str, out, resume: bool = False, **overrides) -> dict:
    cfg = load_config(config)
    tc = TrainConfig.from_yaml(config, **overrides)
    trainer = Trainer(cfg, tc, out)
    start = time.perf_counter()
    trainer.run(resume=resume)
    if trainer.rank == 0:
        from .report import write_report

        write_report(trainer, time.perf_counter() - start)
    return {"out": str(out)}
