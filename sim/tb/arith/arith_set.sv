// One parameter set of the arith testbench: one udiv, one rdiv and one isqrt (hw/rtl/{udiv,rdiv,isqrt}.sv), each
// with its own ports. arith_tb.sv instantiates several sets, so that one Verilator build tests them all.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module arith_set #(
    parameter int UDIV_N_WIDTH = 48,  // udiv dividend width
    parameter int UDIV_D_WIDTH = 32,  // udiv divisor width
    parameter int UDIV_Q_WIDTH = 48,  // udiv quotient width
    parameter int RDIV_N_WIDTH = 48,  // rdiv numerator width (signed)
    parameter int RDIV_D_WIDTH = 32,  // rdiv denominator width
    parameter int RDIV_Q_WIDTH = 48,  // rdiv result width (signed)
    parameter int ISQRT_N_WIDTH = 63  // isqrt radicand width
) (
    input  wire logic                           clk,
    input  wire logic                           rst,

    input  wire logic                           udiv_start,
    input  wire logic [UDIV_N_WIDTH-1:0]        udiv_dividend,
    input  wire logic [UDIV_D_WIDTH-1:0]        udiv_divisor,
    output wire logic                           udiv_busy,
    output wire logic                           udiv_done,
    output wire logic [UDIV_Q_WIDTH-1:0]        udiv_quotient,

    input  wire logic                           rdiv_start,
    input  wire logic [RDIV_N_WIDTH-1:0]        rdiv_dividend,
    input  wire logic [RDIV_D_WIDTH-1:0]        rdiv_divisor,
    output wire logic                           rdiv_busy,
    output wire logic                           rdiv_done,
    output wire logic [RDIV_Q_WIDTH-1:0]        rdiv_quotient,

    input  wire logic                           isqrt_start,
    input  wire logic [ISQRT_N_WIDTH-1:0]       isqrt_radicand,
    output wire logic                           isqrt_busy,
    output wire logic                           isqrt_done,
    output wire logic [(ISQRT_N_WIDTH+1)/2-1:0] isqrt_root
);

udiv #(
    .N_WIDTH(UDIV_N_WIDTH),
    .D_WIDTH(UDIV_D_WIDTH),
    .Q_WIDTH(UDIV_Q_WIDTH)
) udiv_inst (
    .clk(clk),
    .rst(rst),
    .start(udiv_start),
    .dividend(udiv_dividend),
    .divisor(udiv_divisor),
    .busy(udiv_busy),
    .done(udiv_done),
    .quotient(udiv_quotient)
);

rdiv #(
    .N_WIDTH(RDIV_N_WIDTH),
    .D_WIDTH(RDIV_D_WIDTH),
    .Q_WIDTH(RDIV_Q_WIDTH)
) rdiv_inst (
    .clk(clk),
    .rst(rst),
    .start(rdiv_start),
    .dividend(rdiv_dividend),
    .divisor(rdiv_divisor),
    .busy(rdiv_busy),
    .done(rdiv_done),
    .quotient(rdiv_quotient)
);

isqrt #(
    .N_WIDTH(ISQRT_N_WIDTH)
) isqrt_inst (
    .clk(clk),
    .rst(rst),
    .start(isqrt_start),
    .radicand(isqrt_radicand),
    .busy(isqrt_busy),
    .done(isqrt_done),
    .root(isqrt_root)
);

endmodule : arith_set

`resetall
