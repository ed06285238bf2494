// Requantize an AXI-Stream of signed accumulators to narrow signed integers, one register stage.
//
// Contract: docs/arithmetic.md §2.3, requantize = saturate(round_shift(acc, shift)); golden model
// spvit.sim.golden.arith.requantize, HLS twin hw/hls/requantize.hpp. Bit-exact:
//   shift > 0   (acc + 2**(shift-1)) >>> shift   (round half up)
//   shift == 0  acc
//   shift < 0   acc <<< -shift                   (exact: the datapath is wide enough)
//   then clamp to [-2**(OUT_WIDTH-1), 2**(OUT_WIDTH-1) - 1].
// The rounding and saturation are round_sat.sv's (the one implementation of §2.1-2.2; it limits SHIFT_WIDTH to
// [2, 16]); this module adds the stream and its register stage.
//
// `shift` is sampled with each accepted input beat, so it may change between beats. Values outside
// [SHIFT_MIN, SHIFT_MAX] are illegal (simulation asserts when built with --assert). The defaults cover shifts
// -8..31; SHIFT_WIDTH=7, SHIFT_MIN=-32, SHIFT_MAX=40 covers the whole range of docs/arithmetic.md §2.3.
// Flow control: a pipeline register. s_axis_tready = !m_axis_tvalid || m_axis_tready, so the stage accepts a
// beat every cycle under no backpressure and holds its output while m_axis_tready is low.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module requantize #(
    parameter int ACC_WIDTH = 32,   // accumulator (input) width, signed
    parameter int OUT_WIDTH = 8,    // result (output) width, signed
    parameter int SHIFT_WIDTH = 6,  // width of the signed run-time shift port
    parameter int SHIFT_MIN = -8,   // most negative legal shift (exact left shift by -SHIFT_MIN)
    parameter int SHIFT_MAX = 31    // largest legal right shift
) (
    input  wire logic                          clk,
    input  wire logic                          rst,

    input  wire logic signed [SHIFT_WIDTH-1:0] shift,

    input  wire logic        [ACC_WIDTH-1:0]   s_axis_tdata,
    input  wire logic                          s_axis_tvalid,
    output wire logic                          s_axis_tready,
    input  wire logic                          s_axis_tlast,

    output wire logic        [OUT_WIDTH-1:0]   m_axis_tdata,
    output wire logic                          m_axis_tvalid,
    input  wire logic                          m_axis_tready,
    output wire logic                          m_axis_tlast
);

// Illegal parameter combinations stop elaboration.
if (OUT_WIDTH < 2 || OUT_WIDTH >= ACC_WIDTH) begin : g_check_out
    $fatal(1, "requantize: OUT_WIDTH (%0d) must be in [2, ACC_WIDTH)", OUT_WIDTH);
end
if (SHIFT_MIN > 0 || SHIFT_MAX < 0) begin : g_check_range
    $fatal(1, "requantize: need SHIFT_MIN <= 0 <= SHIFT_MAX (got %0d, %0d)", SHIFT_MIN, SHIFT_MAX);
end
if (SHIFT_MIN < -(2 ** (SHIFT_WIDTH-1)) || SHIFT_MAX >= 2 ** (SHIFT_WIDTH-1)) begin : g_check_width
    $fatal(1, "requantize: SHIFT_WIDTH (%0d) cannot hold [%0d, %0d]", SHIFT_WIDTH, SHIFT_MIN, SHIFT_MAX);
end

// Datapath: round-shift and saturate (combinational), in front of the register.
logic [OUT_WIDTH-1:0] result;

round_sat #(
    .IN_WIDTH(ACC_WIDTH),
    .OUT_WIDTH(OUT_WIDTH),
    .SHIFT_WIDTH(SHIFT_WIDTH),
    .SIGNED_OUT(1)
) round_sat_inst (
    .in(s_axis_tdata),
    .shift(shift),
    .out(result)
);

// Output register stage.
// Only the valid flag is reset; data and last are don't-care while it is low.
logic [OUT_WIDTH-1:0] m_axis_tdata_reg, m_axis_tdata_next;
logic                 m_axis_tvalid_reg, m_axis_tvalid_next;
logic                 m_axis_tlast_reg, m_axis_tlast_next;

assign s_axis_tready = !m_axis_tvalid_reg || m_axis_tready;
assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;

always_comb begin
    m_axis_tdata_next = m_axis_tdata_reg;
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;
    m_axis_tlast_next = m_axis_tlast_reg;
    if (s_axis_tvalid && s_axis_tready) begin
        m_axis_tdata_next = result;
        m_axis_tvalid_next = 1'b1;
        m_axis_tlast_next = s_axis_tlast;
    end
end

always_ff @(posedge clk) begin
    m_axis_tdata_reg <= m_axis_tdata_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    m_axis_tlast_reg <= m_axis_tlast_next;
    if (rst) begin
        m_axis_tvalid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && s_axis_tvalid) begin
        assert (int'(shift) >= SHIFT_MIN && int'(shift) <= SHIFT_MAX)
        else $error("requantize: shift %0d outside [%0d, %0d]", shift, SHIFT_MIN, SHIFT_MAX);
    end
end
`endif

endmodule : requantize

`resetall
