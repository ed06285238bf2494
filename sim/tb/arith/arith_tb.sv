// Simulation wrapper for the cocotb testbench sim/tb/arith/test_arith.py: three parameter sets (arith_set.sv: one
// udiv, one rdiv and one isqrt each) side by side, so that ONE Verilator build (the fixed cost of a build is most of
// the test's time) tests all nine primitives concurrently. Not synthesised; the modules themselves are linted on
// their own by tests/test_rtl_arith.py, which also sets these parameters.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module arith_tb #(
    parameter int S0_UDIV_N_WIDTH = 8,
    parameter int S0_UDIV_D_WIDTH = 8,
    parameter int S0_UDIV_Q_WIDTH = 8,
    parameter int S0_RDIV_N_WIDTH = 8,
    parameter int S0_RDIV_D_WIDTH = 8,
    parameter int S0_RDIV_Q_WIDTH = 8,
    parameter int S0_ISQRT_N_WIDTH = 8,
    parameter int S1_UDIV_N_WIDTH = 8,
    parameter int S1_UDIV_D_WIDTH = 8,
    parameter int S1_UDIV_Q_WIDTH = 8,
    parameter int S1_RDIV_N_WIDTH = 8,
    parameter int S1_RDIV_D_WIDTH = 8,
    parameter int S1_RDIV_Q_WIDTH = 8,
    parameter int S1_ISQRT_N_WIDTH = 8,
    parameter int S2_UDIV_N_WIDTH = 8,
    parameter int S2_UDIV_D_WIDTH = 8,
    parameter int S2_UDIV_Q_WIDTH = 8,
    parameter int S2_RDIV_N_WIDTH = 8,
    parameter int S2_RDIV_D_WIDTH = 8,
    parameter int S2_RDIV_Q_WIDTH = 8,
    parameter int S2_ISQRT_N_WIDTH = 8
) (
    input  wire logic clk,
    input  wire logic rst,

    input  wire logic s0_udiv_start,
    input  wire logic [S0_UDIV_N_WIDTH-1:0] s0_udiv_dividend,
    input  wire logic [S0_UDIV_D_WIDTH-1:0] s0_udiv_divisor,
    output wire logic s0_udiv_busy,
    output wire logic s0_udiv_done,
    output wire logic [S0_UDIV_Q_WIDTH-1:0] s0_udiv_quotient,
    input  wire logic s0_rdiv_start,
    input  wire logic [S0_RDIV_N_WIDTH-1:0] s0_rdiv_dividend,
    input  wire logic [S0_RDIV_D_WIDTH-1:0] s0_rdiv_divisor,
    output wire logic s0_rdiv_busy,
    output wire logic s0_rdiv_done,
    output wire logic [S0_RDIV_Q_WIDTH-1:0] s0_rdiv_quotient,
    input  wire logic s0_isqrt_start,
    input  wire logic [S0_ISQRT_N_WIDTH-1:0] s0_isqrt_radicand,
    output wire logic s0_isqrt_busy,
    output wire logic s0_isqrt_done,
    output wire logic [(S0_ISQRT_N_WIDTH+1)/2-1:0] s0_isqrt_root,

    input  wire logic s1_udiv_start,
    input  wire logic [S1_UDIV_N_WIDTH-1:0] s1_udiv_dividend,
    input  wire logic [S1_UDIV_D_WIDTH-1:0] s1_udiv_divisor,
    output wire logic s1_udiv_busy,
    output wire logic s1_udiv_done,
    output wire logic [S1_UDIV_Q_WIDTH-1:0] s1_udiv_quotient,
    input  wire logic s1_rdiv_start,
    input  wire logic [S1_RDIV_N_WIDTH-1:0] s1_rdiv_dividend,
    input  wire logic [S1_RDIV_D_WIDTH-1:0] s1_rdiv_divisor,
    output wire logic s1_rdiv_busy,
    output wire logic s1_rdiv_done,
    output wire logic [S1_RDIV_Q_WIDTH-1:0] s1_rdiv_quotient,
    input  wire logic s1_isqrt_start,
    input  wire logic [S1_ISQRT_N_WIDTH-1:0] s1_isqrt_radicand,
    output wire logic s1_isqrt_busy,
    output wire logic s1_isqrt_done,
    output wire logic [(S1_ISQRT_N_WIDTH+1)/2-1:0] s1_isqrt_root,

    input  wire logic s2_udiv_start,
    input  wire logic [S2_UDIV_N_WIDTH-1:0] s2_udiv_dividend,
    input  wire logic [S2_UDIV_D_WIDTH-1:0] s2_udiv_divisor,
    output wire logic s2_udiv_busy,
    output wire logic s2_udiv_done,
    output wire logic [S2_UDIV_Q_WIDTH-1:0] s2_udiv_quotient,
    input  wire logic s2_rdiv_start,
    input  wire logic [S2_RDIV_N_WIDTH-1:0] s2_rdiv_dividend,
    input  wire logic [S2_RDIV_D_WIDTH-1:0] s2_rdiv_divisor,
    output wire logic s2_rdiv_busy,
    output wire logic s2_rdiv_done,
    output wire logic [S2_RDIV_Q_WIDTH-1:0] s2_rdiv_quotient,
    input  wire logic s2_isqrt_start,
    input  wire logic [S2_ISQRT_N_WIDTH-1:0] s2_isqrt_radicand,
    output wire logic s2_isqrt_busy,
    output wire logic s2_isqrt_done,
    output wire logic [(S2_ISQRT_N_WIDTH+1)/2-1:0] s2_isqrt_root
);

arith_set #(
    .UDIV_N_WIDTH(S0_UDIV_N_WIDTH),
    .UDIV_D_WIDTH(S0_UDIV_D_WIDTH),
    .UDIV_Q_WIDTH(S0_UDIV_Q_WIDTH),
    .RDIV_N_WIDTH(S0_RDIV_N_WIDTH),
    .RDIV_D_WIDTH(S0_RDIV_D_WIDTH),
    .RDIV_Q_WIDTH(S0_RDIV_Q_WIDTH),
    .ISQRT_N_WIDTH(S0_ISQRT_N_WIDTH)
) s0_inst (
    .clk(clk),
    .rst(rst),
    .udiv_start(s0_udiv_start),
    .udiv_dividend(s0_udiv_dividend),
    .udiv_divisor(s0_udiv_divisor),
    .udiv_busy(s0_udiv_busy),
    .udiv_done(s0_udiv_done),
    .udiv_quotient(s0_udiv_quotient),
    .rdiv_start(s0_rdiv_start),
    .rdiv_dividend(s0_rdiv_dividend),
    .rdiv_divisor(s0_rdiv_divisor),
    .rdiv_busy(s0_rdiv_busy),
    .rdiv_done(s0_rdiv_done),
    .rdiv_quotient(s0_rdiv_quotient),
    .isqrt_start(s0_isqrt_start),
    .isqrt_radicand(s0_isqrt_radicand),
    .isqrt_busy(s0_isqrt_busy),
    .isqrt_done(s0_isqrt_done),
    .isqrt_root(s0_isqrt_root)
);

arith_set #(
    .UDIV_N_WIDTH(S1_UDIV_N_WIDTH),
    .UDIV_D_WIDTH(S1_UDIV_D_WIDTH),
    .UDIV_Q_WIDTH(S1_UDIV_Q_WIDTH),
    .RDIV_N_WIDTH(S1_RDIV_N_WIDTH),
    .RDIV_D_WIDTH(S1_RDIV_D_WIDTH),
    .RDIV_Q_WIDTH(S1_RDIV_Q_WIDTH),
    .ISQRT_N_WIDTH(S1_ISQRT_N_WIDTH)
) s1_inst (
    .clk(clk),
    .rst(rst),
    .udiv_start(s1_udiv_start),
    .udiv_dividend(s1_udiv_dividend),
    .udiv_divisor(s1_udiv_divisor),
    .udiv_busy(s1_udiv_busy),
    .udiv_done(s1_udiv_done),
    .udiv_quotient(s1_udiv_quotient),
    .rdiv_start(s1_rdiv_start),
    .rdiv_dividend(s1_rdiv_dividend),
    .rdiv_divisor(s1_rdiv_divisor),
    .rdiv_busy(s1_rdiv_busy),
    .rdiv_done(s1_rdiv_done),
    .rdiv_quotient(s1_rdiv_quotient),
    .isqrt_start(s1_isqrt_start),
    .isqrt_radicand(s1_isqrt_radicand),
    .isqrt_busy(s1_isqrt_busy),
    .isqrt_done(s1_isqrt_done),
    .isqrt_root(s1_isqrt_root)
);

arith_set #(
    .UDIV_N_WIDTH(S2_UDIV_N_WIDTH),
    .UDIV_D_WIDTH(S2_UDIV_D_WIDTH),
    .UDIV_Q_WIDTH(S2_UDIV_Q_WIDTH),
    .RDIV_N_WIDTH(S2_RDIV_N_WIDTH),
    .RDIV_D_WIDTH(S2_RDIV_D_WIDTH),
    .RDIV_Q_WIDTH(S2_RDIV_Q_WIDTH),
    .ISQRT_N_WIDTH(S2_ISQRT_N_WIDTH)
) s2_inst (
    .clk(clk),
    .rst(rst),
    .udiv_start(s2_udiv_start),
    .udiv_dividend(s2_udiv_dividend),
    .udiv_divisor(s2_udiv_divisor),
    .udiv_busy(s2_udiv_busy),
    .udiv_done(s2_udiv_done),
    .udiv_quotient(s2_udiv_quotient),
    .rdiv_start(s2_rdiv_start),
    .rdiv_dividend(s2_rdiv_dividend),
    .rdiv_divisor(s2_rdiv_divisor),
    .rdiv_busy(s2_rdiv_busy),
    .rdiv_done(s2_rdiv_done),
    .rdiv_quotient(s2_rdiv_quotient),
    .isqrt_start(s2_isqrt_start),
    .isqrt_radicand(s2_isqrt_radicand),
    .isqrt_busy(s2_isqrt_busy),
    .isqrt_done(s2_isqrt_done),
    .isqrt_root(s2_isqrt_root)
);

endmodule : arith_tb

`resetall
