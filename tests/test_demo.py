"""`spvit demo` end to end on a short training schedule: train, export, golden / torch / hls / rtl through the
host driver, 0 mismatches, and the report with its plots. (The real run is `make demo`; this one trains one epoch
per phase so the suite stays short.)"""
from __future__ import annotations

import pytest
import yaml

from spvit.configs import load_section
from spvit.demo import demo, finished

pytestmark = [pytest.mark.hls, pytest.mark.rtl]


@pytest.fixture(autouse=True)
def _tools(require_tool):
    for tool in ("g++", "ap_types", "verilator"):
        require_tool(tool)


def short_config(tmp_path):
    data = {"model": load_section("digits", "model"),
            "train": dict(load_section("digits", "train"), epochs={"float": 1, "qat": 1, "prune": 1}, repeats=1,
                       steps_per_epoch=4)}
    path = tmp_path / "digits_short.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_demo_end_to_end(tmp_path, capsys):
    config = short_config(tmp_path)
    out = tmp_path / "demo"
    assert demo(out, str(config), images=6, rtl_images=1) == 0
    printed = capsys.readouterr().out
    assert "demo PASSED" in printed
    assert finished(out / "train", str(config))
    report = (out / "report.md").read_text()
    for label in ("golden via the driver", "torch integer mode", "hls via pynq (emulated board)", "rtl via the driver"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {label} |"))
        assert row.split("|")[3].strip() == "0", row  # mismatched
    for png in ("accuracy_vs_latency.png", "block_cycles.png", "keep_maps.png"):
        assert (out / png).stat().st_size > 1000, png
    # a second run reuses the finished training instead of training again
    assert demo(out, str(config), images=2, rtl_images=1) == 0
    assert "reusing the finished training run" in capsys.readouterr().out
