"""cocotb module of `spvit bench --backend rtl`: the cycles of hw/rtl/linear.sv for the per-image fixed costs.

The patch embedding (§11.1: num_patches tokens of C·P·P inputs -> D) and the classifier head (§11.4: one token of D
inputs -> num_classes) are linear layers with no hw/rtl IP core of their own, so their cost is measured on linear.sv,
built through sim/tb/linear/linear_tb.sv (one instance per shape, `sel` picks one) with an input source that offers a
beat every cycle and an always-ready output. Cycles: from the first input beat accepted to the last output beat
(tlast), both included. The weights stay zero (the timing of linear.sv does not depend on the values; its bit-exactness
is tests/test_rtl_linear.py's business).

Job (JSON file named by SPVIT_BENCH_JOB): shapes = [{name, sel, in_dim, simd, tokens}]. Result: linear_results.json.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import ClockCycles, RisingEdge


@cocotb.test()
async def bench_linear(dut):
    job_file = Path(os.environ["SPVIT_BENCH_JOB"])
    job = json.loads(job_file.read_text())
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = Immediate(0)
    dut.s_axis_tvalid.value = 0
    dut.s_axis_tlast.value = 0
    dut.s_axis_tuser.value = 0  # every fold of a token (no SPLIT_NF here)
    dut.s_axis_tdata.value = 0
    dut.m_axis_tready.value = 1
    dut.w_wr_en.value = 0
    dut.b_wr_en.value = 0
    dut.shift.value = 0
    await RisingEdge(dut.clk)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    out = []
    for shape in job["shapes"]:
        dut.sel.value = int(shape["sel"])
        await ClockCycles(dut.clk, 2)
        beats = shape["tokens"] * (shape["in_dim"] // shape["simd"])
        sent = 0
        cycle = 0
        start = None
        end = None
        dut.s_axis_tvalid.value = 1
        dut.s_axis_tlast.value = int(beats == 1)
        while end is None:
            await RisingEdge(dut.clk)
            # values before this edge: a beat moved when valid and ready were both high (the cocotbext-axi way)
            if sent < beats and int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
                sent += 1
                if start is None:
                    start = cycle
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tlast.value):
                end = cycle
            dut.s_axis_tvalid.value = int(sent < beats)
            dut.s_axis_tlast.value = int(sent == beats - 1)
            cycle += 1
            if cycle > 50_000_000:
                raise AssertionError("linear: no tlast out")
        out.append({"name": shape["name"], "cycles": end - start + 1, "tokens": shape["tokens"], "beats_in": beats})
        dut.s_axis_tvalid.value = 0
        await ClockCycles(dut.clk, 4)
    (job_file.parent / "linear_results.json").write_text(json.dumps({"shapes": out}, indent=1))
