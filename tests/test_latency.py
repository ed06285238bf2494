"""The latency-sparsity table (format, composition, refusal), the differentiable latency and the budget losses."""
from __future__ import annotations

import dataclasses
import json

import pytest

from spvit.configs import load_config
from spvit.quant import latency as L



@pytest.fixture
def torch(require_module):
    return require_module("torch")

CONFIGS = L.SHIPPED_CONFIGS


@pytest.fixture(scope="module")
def tables():
    return {c: L.analytic_table(c, "zcu102") for c in CONFIGS}


def dense(cfg):
    return dataclasses.replace(cfg, prune=dataclasses.replace(cfg.prune, score="none", after_blocks=(), keep_ratios=()))


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_tables(name, tables):
    """An analytic table must be exactly what analytic_table regenerates; a measured one (`spvit bench --backend rtl
    --store`) must validate, fit its config and board, and cost more cycles for more tokens."""
    path = L.shipped_path(name)
    table = L.load_table(path)
    if table["source"] == "analytic":
        stale = f"stale: run python -m spvit.quant.latency --config {name}"
        assert table == json.loads(json.dumps(tables[name])), stale
        return
    assert table["source"] == "measured"
    cfg = load_config(name)
    L._check_model(table, cfg)
    assert (table["board"], table["clock_mhz"], table["config"]) == ("zcu102", 300, name)
    assert table["n_max"] == cfg.num_patches + 1 + cfg.num_stages
    block = table["block_cycles"]
    assert all(a <= b for a, b in zip(block, block[1:])), "measured block cycles must not fall as n grows"
    assert block[-1] > block[0] > 0
    if cfg.num_stages:
        assert all(c > 0 for c in table["selector_cycles"])
    assert table["block_macs"] == [L.block_macs(cfg, n) for n in range(1, table["n_max"] + 1)]
    assert table["parallelism"]["encoder_block"]["D"] == cfg.embed_dim and table["assumptions"]
    s = L.summary(table, cfg)
    assert s["pruned_cycles"] < s["dense_cycles"]


def test_board_table_is_the_measured_one_where_it_fits():
    """Training's latency loss reads the board's stored table (measured by `spvit bench --store`) when it fits the
    model, the analytic one otherwise."""
    cfg = load_config("digits")
    assert L.board_table(cfg) == L.load_table(L.shipped_path("digits"))
    assert L.board_table(cfg)["source"] == "measured"
    other = dataclasses.replace(cfg, name="digits_unshipped")
    assert L.board_table(other) == L.analytic_table(other)
    deeper = dataclasses.replace(cfg, depth=cfg.depth + 2)  # the shipped table's model no longer fits
    assert L.board_table(deeper)["source"] == "analytic"


def test_write_is_deterministic_and_round_trips(tables, tmp_path):
    a, b = L.write_table(tables["digits"], tmp_path / "a.json"), L.write_table(tables["digits"], tmp_path / "b.json")
    assert a.read_text() == b.read_text()
    assert L.load_table(a) == json.loads(json.dumps(tables["digits"]))
    for name in CONFIGS:  # every shipped table, analytic or measured, is what write_table writes for its content
        shipped = L.shipped_path(name)
        assert L.write_table(L.load_table(shipped), tmp_path / f"{name}.json").read_text() == shipped.read_text()


@pytest.mark.parametrize("name", CONFIGS)
def test_table_covers_every_count_and_is_monotonic(name, tables):
    t, cfg = tables[name], load_config(name)
    assert t["n_max"] == cfg.num_patches + 1 + cfg.num_stages == len(t["block_cycles"]) == len(t["selector_cycles"])
    for key in ("block_cycles", "selector_cycles", "block_macs"):
        assert all(a <= b for a, b in zip(t[key], t[key][1:])), key
    assert t["block_cycles"][-1] > t["block_cycles"][0]
    assert t["clock_mhz"] == 300 and t["board"] == "zcu102" and t["source"] == "analytic"
    assert t["parallelism"]["dsp48e2_used"] <= 0.85 * t["parallelism"]["dsp48e2_available"]


def test_block_macs_formula():
    cfg = load_config("deit_small")
    d, hid = cfg.embed_dim, cfg.mlp_hidden
    for n in (1, 31, 197):
        assert L.block_macs(cfg, n) == 3 * n * d * d + 2 * n * n * d + n * d * d + 2 * n * d * hid


def test_dense_model_cycles_is_sum_of_blocks():
    cfg = dense(load_config("deit_tiny"))
    t = L.analytic_table(cfg)
    n = cfg.num_patches + 1
    fixed = t["patch_embed_cycles"] + t["head_cycles"] + t["overhead_cycles"]
    assert t["model"]["prune_after_blocks"] == [] and not any(t["selector_cycles"])
    assert L.model_cycles(t, [n] * cfg.depth) == fixed + cfg.depth * t["block_cycles"][n - 1]


@pytest.mark.parametrize("name", CONFIGS)
def test_pruned_schedule_is_cheaper(name, tables):
    cfg, t = load_config(name), tables[name]
    s = L.summary(t, cfg)
    assert s["pruned_cycles"] < s["dense_cycles"] and s["pruned_block_macs"] < s["dense_block_macs"]
    assert s["dense_cycles"] == L.model_cycles(t, [cfg.num_patches + 1] * cfg.depth, stages=[])


def test_load_table_refusals(tables, tmp_path):
    good = L.write_table(tables["digits"], tmp_path / "good.json").read_text()
    cases = {"truncated": good[: len(good) // 2], "empty": "", "not_object": "[1, 2]"}
    for key, edit in {"version": 2, "format": "other", "source": "guessed", "block_cycles": [1, 2, 3],
                      "clock_mhz": 0, "head_cycles": -1}.items():
        cases[key] = json.dumps({**tables["digits"], key: edit})
    missing = dict(tables["digits"])
    del missing["selector_cycles"]
    cases["missing"] = json.dumps(missing)
    cases["negative"] = json.dumps({**tables["digits"], "block_cycles": [-1] + tables["digits"]["block_cycles"][1:]})
    for name, text in cases.items():
        (tmp_path / f"{name}.json").write_text(text)
        with pytest.raises(L.LatencyTableError):
            L.load_table(tmp_path / f"{name}.json")
    with pytest.raises(L.LatencyTableError, match="version"):
        L.load_table(tmp_path / "version.json")
    with pytest.raises(L.LatencyTableError):
        L.load_table(tmp_path / "absent.json")


@pytest.mark.parametrize("name", CONFIGS)
def test_expected_latency_exact_at_integers(name, tables, torch):
    cfg, t = load_config(name), tables[name]
    kept = torch.tensor([cfg.stage_k(), [cfg.num_patches] * cfg.num_stages, [1] * cfg.num_stages], dtype=torch.float64)
    lat = L.expected_latency(t, kept, cfg)
    for row, value in zip(kept.long().tolist(), lat.tolist()):
        assert value == L.model_cycles(t, L.tokens_per_block(cfg, row))


def test_expected_latency_interpolates_and_has_positive_gradient(tables, torch):
    cfg, t = load_config("digits"), tables["digits"]
    kept = torch.tensor([[20.25, 9.5], [31.0, 15.0]], dtype=torch.float64, requires_grad=True)
    lat = L.expected_latency(t, kept, cfg)
    lat.sum().backward()
    assert (kept.grad > 0).all()
    # one stage's count between integers: exactly the linear blend of its neighbours (every term is linear there)
    lo, mid, hi = (L.expected_latency(t, torch.tensor([[k, 10.0]], dtype=torch.float64), cfg) for k in (20, 20.25, 21))
    assert lo < hi and mid.item() == pytest.approx(0.75 * lo.item() + 0.25 * hi.item(), rel=1e-12)
    # deit_small: positive slope in the compute-bound region; zero (not negative) where weight streaming bounds it
    cfg, t = load_config("deit_small"), tables["deit_small"]
    kept = torch.tensor([[150.5, 120.5, 100.5], [120.0, 72.0, 27.0]], dtype=torch.float64, requires_grad=True)
    L.expected_latency(t, kept, cfg).sum().backward()
    assert (kept.grad[0] > 0).all() and (kept.grad >= 0).all() and kept.grad[1, 2] == 0


def test_expected_latency_rejects_other_config(tables, torch):
    with pytest.raises(L.LatencyTableError):
        L.expected_latency(tables["digits"], torch.zeros(1, 3), load_config("deit_tiny"))


def test_latency_loss(torch):
    lat = torch.tensor([900.0, 1000.0, 1100.0], requires_grad=True)
    assert L.latency_loss(lat[:2], 1000.0, two_sided=0) == 0
    assert L.latency_loss(torch.tensor([500.0]), 1000.0, two_sided=0) == 0
    assert L.latency_loss(torch.tensor([1000.0]), 1000.0) == 0
    assert L.latency_loss(torch.tensor([1200.0]), 1000.0, two_sided=0) == pytest.approx(0.04)
    below = L.latency_loss(torch.tensor([800.0]), 1000.0, two_sided=0.1)
    assert below == pytest.approx(0.1 * 0.04)  # the small pull back up to the budget
    L.latency_loss(lat, 950.0, per_image=True).backward()
    assert lat.grad[2] > lat.grad[1] > 0 > lat.grad[0]  # above budget pushed down, below it pulled up (gently)


def test_flops_budget_loss(torch):
    cfg = load_config("deit_small")
    full = torch.full((2, cfg.num_stages), float(cfg.num_patches), requires_grad=True)
    # all patches kept: mean block MACs of the (package-carrying) model vs 1.0 x dense, ~0
    assert L.flops_budget_loss(full, cfg, 1.0) < 0.03
    kept = torch.tensor([cfg.stage_k()], dtype=torch.float64, requires_grad=True)
    macs = sum(L.block_macs(cfg, n) for n in L.tokens_per_block(cfg)) / cfg.depth
    ratio = macs / L.block_macs(cfg, cfg.num_patches + 1)
    assert L.flops_budget_loss(kept, cfg, ratio).item() == pytest.approx(0, abs=1e-12)
    loss = L.flops_budget_loss(kept, cfg, ratio - 0.1)
    loss.backward()
    assert loss.item() == pytest.approx(0.1) and (kept.grad > 0).all()


def test_cli_main(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert L.main(["--config", "deit_tiny", "--board", "zcu102", "--out", str(out)]) == 0
    assert L.load_table(out)["config"] == "deit_tiny" and "analytic" in capsys.readouterr().out
