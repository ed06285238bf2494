// Requantize an AXI-Stream of signed accumulators to narrow signed integers, one register stage.
//
// Contract: docs/arithmetic.md §2.3, requantize = saturate(round_shift(acc, shift)); golden model
// spvit.sim.golden.arith.requantize, HLS twin hw/hls/requantize.hpp. Bit-exact:
//   shift > 0   (acc + 2**(shift-1)) >>> shift   (round half up)
//   shift == 0  acc
//   shift < 0   acc <<< -shift                   (exact: the datapath is wide enough)
//   then clamp to [-2**(OUT_WIDTH-1), 2**(OUT_WIDTH-1) - 1].
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

// Any shift in [SHIFT_MIN, SHIFT_MAX] is exact while the datapath stays narrow: a right shift by ACC_WIDTH or
// more always gives 0 (as a shift by exactly ACC_WIDTH does), and a left shift by OUT_WIDTH or more saturates
// every nonzero accumulator, so shift amounts are capped at those values.
localparam int MAX_LEFT = SHIFT_MIN < 0 ? -SHIFT_MIN : 0;
localparam int LEFT_CAP = MAX_LEFT < OUT_WIDTH ? MAX_LEFT : OUT_WIDTH;
localparam int RIGHT_CAP = SHIFT_MAX < ACC_WIDTH ? SHIFT_MAX : ACC_WIDTH;
// acc + 2**(s-1) and 1 << s (s <= ACC_WIDTH) need two extra bits; acc << LEFT_CAP needs LEFT_CAP.
localparam int WIDE_WIDTH = ACC_WIDTH + (LEFT_CAP > 2 ? LEFT_CAP : 2);

// Saturation bounds, sign-extended to the datapath width.
localparam logic signed [WIDE_WIDTH-1:0] OUT_MAX = {{(WIDE_WIDTH-OUT_WIDTH+1){1'b0}}, {(OUT_WIDTH-1){1'b1}}};
localparam logic signed [WIDE_WIDTH-1:0] OUT_MIN = {{(WIDE_WIDTH-OUT_WIDTH+1){1'b1}}, {(OUT_WIDTH-1){1'b0}}};

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

// Datapath (combinational, in front of the register).
logic signed [WIDE_WIDTH-1:0]  acc_wide;
logic signed [WIDE_WIDTH-1:0]  half;
logic signed [WIDE_WIDTH-1:0]  shifted;
logic        [SHIFT_WIDTH-1:0] magnitude;  // |shift|, up to 2**(SHIFT_WIDTH-1)
logic        [SHIFT_WIDTH-1:0] amount;
logic        [OUT_WIDTH-1:0]   result;

always_comb begin
    acc_wide = WIDE_WIDTH'($signed(s_axis_tdata));
    magnitude = shift[SHIFT_WIDTH-1] ? SHIFT_WIDTH'(-shift) : SHIFT_WIDTH'(shift);
    half = '0;
    if (!shift[SHIFT_WIDTH-1]) begin
        // §2.1 round half up: add 2**(shift-1) ((1 << shift) >> 1 is 0 for shift 0), arithmetic shift right.
        amount = magnitude > SHIFT_WIDTH'(RIGHT_CAP) ? SHIFT_WIDTH'(RIGHT_CAP) : magnitude;
        half = (WIDE_WIDTH'(1) << amount) >>> 1;
        shifted = (acc_wide + half) >>> amount;
    end else begin
        amount = magnitude > SHIFT_WIDTH'(LEFT_CAP) ? SHIFT_WIDTH'(LEFT_CAP) : magnitude;
        shifted = acc_wide <<< amount;
    end
    // §2.2 saturate.
    if (shifted > OUT_MAX) begin
        result = OUT_MAX[OUT_WIDTH-1:0];
    end else if (shifted < OUT_MIN) begin
        result = OUT_MIN[OUT_WIDTH-1:0];
    end else begin
        result = shifted[OUT_WIDTH-1:0];
    end
end

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
