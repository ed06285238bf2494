// Round-shift and saturate, purely combinational: out = saturate(round_shift(in, shift), OUT_WIDTH, SIGNED_OUT).
//
// Contract: docs/arithmetic.md §2.1-2.3; golden model spvit.sim.golden.arith.round_shift / saturate / requantize
// (requantize(acc, s) is this module with OUT_WIDTH=8, SIGNED_OUT=1). Bit-exact for EVERY value of the signed
// SHIFT_WIDTH-bit run-time shift port:
//   shift > 0   (in + 2**(shift-1)) >>> shift   (round half up)
//   shift == 0  in
//   shift < 0   in <<< -shift                   (exact: the datapath is wide enough)
//   then clamp to [-2**(OUT_WIDTH-1), 2**(OUT_WIDTH-1) - 1] (SIGNED_OUT=1) or [0, 2**OUT_WIDTH - 1] (SIGNED_OUT=0).
// The input is always signed two's complement. No register: callers put it in front of their own output register
// (the shared primitive of requantize-like stages: linear, residual_add, attention, layernorm, ...).
//
// Width: a right shift by IN_WIDTH or more always gives 0 (as a shift by exactly IN_WIDTH does) and a left shift
// by OUT_WIDTH or more saturates every nonzero input, so shift amounts are capped there and the adder/shifter is
// only IN_WIDTH + min(OUT_WIDTH, 2**(SHIFT_WIDTH-1)) (at least IN_WIDTH + 2) bits wide.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module round_sat #(
    parameter int IN_WIDTH = 32,    // input width (signed)
    parameter int OUT_WIDTH = 8,    // result width
    parameter int SHIFT_WIDTH = 7,  // width of the signed run-time shift port (7 covers §2.3's [-32, 40])
    parameter bit SIGNED_OUT = 1    // 1: signed result; 0: unsigned result (clamped to [0, 2**OUT_WIDTH - 1])
) (
    input  wire logic        [IN_WIDTH-1:0]    in,     // signed value to rescale
    input  wire logic signed [SHIFT_WIDTH-1:0] shift,  // right shift with rounding; negative: exact left shift
    output wire logic        [OUT_WIDTH-1:0]   out     // saturated result
);

// Largest shift magnitude the port can carry (the most negative shift).
localparam int MAX_MAG = 2 ** (SHIFT_WIDTH - 1);
localparam int LEFT_CAP = MAX_MAG < OUT_WIDTH ? MAX_MAG : OUT_WIDTH;
localparam int RIGHT_CAP = MAX_MAG < IN_WIDTH ? MAX_MAG : IN_WIDTH;
// in + 2**(s-1) and 1 << s (s <= IN_WIDTH) need two extra bits; in << LEFT_CAP needs LEFT_CAP; the saturation
// bounds need OUT_WIDTH + 1 (OUT_WIDTH may exceed IN_WIDTH).
localparam int SHIFTED_WIDTH = IN_WIDTH + (LEFT_CAP > 2 ? LEFT_CAP : 2);
localparam int WIDE_WIDTH = SHIFTED_WIDTH > OUT_WIDTH + 1 ? SHIFTED_WIDTH : OUT_WIDTH + 1;

// Saturation bounds, sign-extended to the datapath width.
localparam logic signed [WIDE_WIDTH-1:0] OUT_MAX = SIGNED_OUT
    ? {{(WIDE_WIDTH-OUT_WIDTH+1){1'b0}}, {(OUT_WIDTH-1){1'b1}}}
    : {{(WIDE_WIDTH-OUT_WIDTH){1'b0}}, {OUT_WIDTH{1'b1}}};
localparam logic signed [WIDE_WIDTH-1:0] OUT_MIN = SIGNED_OUT
    ? {{(WIDE_WIDTH-OUT_WIDTH+1){1'b1}}, {(OUT_WIDTH-1){1'b0}}}
    : '0;

// Illegal parameter combinations stop elaboration.
if (IN_WIDTH < 2) begin : g_check_in
    $fatal(1, "round_sat: IN_WIDTH (%0d) must be >= 2", IN_WIDTH);
end
if (OUT_WIDTH < (SIGNED_OUT ? 2 : 1)) begin : g_check_out
    $fatal(1, "round_sat: OUT_WIDTH (%0d) too small", OUT_WIDTH);
end
if (SHIFT_WIDTH < 2 || SHIFT_WIDTH > 16) begin : g_check_shift
    $fatal(1, "round_sat: SHIFT_WIDTH (%0d) must be in [2, 16]", SHIFT_WIDTH);
end

logic signed [WIDE_WIDTH-1:0]  in_wide;
logic signed [WIDE_WIDTH-1:0]  half;
logic signed [WIDE_WIDTH-1:0]  shifted;
logic        [SHIFT_WIDTH-1:0] magnitude;  // |shift|, up to 2**(SHIFT_WIDTH-1): fits unsigned
logic        [SHIFT_WIDTH-1:0] amount;
logic        [OUT_WIDTH-1:0]   result;

assign out = result;

always_comb begin
    in_wide = WIDE_WIDTH'($signed(in));
    magnitude = shift[SHIFT_WIDTH-1] ? SHIFT_WIDTH'(-shift) : SHIFT_WIDTH'(shift);
    half = '0;
    if (!shift[SHIFT_WIDTH-1]) begin
        // §2.1 round half up: add 2**(shift-1) ((1 << shift) >> 1 is 0 for shift 0), arithmetic shift right.
        amount = magnitude > SHIFT_WIDTH'(RIGHT_CAP) ? SHIFT_WIDTH'(RIGHT_CAP) : magnitude;
        half = (WIDE_WIDTH'(1) << amount) >>> 1;
        shifted = (in_wide + half) >>> amount;
    end else begin
        amount = magnitude > SHIFT_WIDTH'(LEFT_CAP) ? SHIFT_WIDTH'(LEFT_CAP) : magnitude;
        shifted = in_wide <<< amount;
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

endmodule : round_sat

`resetall
