// Simulation wrapper for the cocotb testbench sim/tb/layernorm/test_layernorm.py: three layernorm units
// (layernorm_unit.sv: hw/rtl/layernorm.sv with its parameter memory) with different parameters side by side, so that
// ONE Verilator build (the fixed cost of a build is most of the test's time) tests all three parameter sets
// concurrently. Not synthesised; layernorm itself is linted on its own by tests/test_rtl_layernorm.py, which also
// sets these parameters.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module layernorm_tb #(
    parameter int U0_D = 16,  // unit 0: channels per token
    parameter int U0_PARALLEL = 4,  // unit 0: channels per beat
    parameter int U0_EPS_WIDTH = 41,  // unit 0: eps_term port width
    parameter int U0_SHIFT_WIDTH = 7,  // unit 0: shift port width
    parameter int U0_BUFFERS = 2,  // unit 0: token buffers
    parameter int U0_DIVIDERS = 1,  // unit 0: division + square-root units
    parameter int U1_D = 16,  // unit 1: channels per token
    parameter int U1_PARALLEL = 4,  // unit 1: channels per beat
    parameter int U1_EPS_WIDTH = 41,  // unit 1: eps_term port width
    parameter int U1_SHIFT_WIDTH = 7,  // unit 1: shift port width
    parameter int U1_BUFFERS = 2,  // unit 1: token buffers
    parameter int U1_DIVIDERS = 1,  // unit 1: division + square-root units
    parameter int U2_D = 16,  // unit 2: channels per token
    parameter int U2_PARALLEL = 4,  // unit 2: channels per beat
    parameter int U2_EPS_WIDTH = 41,  // unit 2: eps_term port width
    parameter int U2_SHIFT_WIDTH = 7,  // unit 2: shift port width
    parameter int U2_BUFFERS = 2,  // unit 2: token buffers
    parameter int U2_DIVIDERS = 1  // unit 2: division + square-root units
) (
    input  wire logic clk,
    input  wire logic rst,

    input  wire logic [U0_EPS_WIDTH-1:0] u0_eps_term,
    input  wire logic [U0_SHIFT_WIDTH-1:0] u0_shift,
    input  wire logic u0_param_wr_en,
    input  wire logic [(U0_D/U0_PARALLEL > 1 ? $clog2(U0_D/U0_PARALLEL) : 1)-1:0] u0_param_wr_addr,
    input  wire logic [U0_PARALLEL*16-1:0] u0_param_wr_gamma,
    input  wire logic [U0_PARALLEL*32-1:0] u0_param_wr_beta,
    output wire logic u0_param_en,
    input  wire logic [U0_PARALLEL*8-1:0] u0_s_axis_tdata,
    input  wire logic u0_s_axis_tvalid,
    output wire logic u0_s_axis_tready,
    input  wire logic u0_s_axis_tlast,
    output wire logic [U0_PARALLEL*8-1:0] u0_m_axis_tdata,
    output wire logic u0_m_axis_tvalid,
    input  wire logic u0_m_axis_tready,
    output wire logic u0_m_axis_tlast,

    input  wire logic [U1_EPS_WIDTH-1:0] u1_eps_term,
    input  wire logic [U1_SHIFT_WIDTH-1:0] u1_shift,
    input  wire logic u1_param_wr_en,
    input  wire logic [(U1_D/U1_PARALLEL > 1 ? $clog2(U1_D/U1_PARALLEL) : 1)-1:0] u1_param_wr_addr,
    input  wire logic [U1_PARALLEL*16-1:0] u1_param_wr_gamma,
    input  wire logic [U1_PARALLEL*32-1:0] u1_param_wr_beta,
    output wire logic u1_param_en,
    input  wire logic [U1_PARALLEL*8-1:0] u1_s_axis_tdata,
    input  wire logic u1_s_axis_tvalid,
    output wire logic u1_s_axis_tready,
    input  wire logic u1_s_axis_tlast,
    output wire logic [U1_PARALLEL*8-1:0] u1_m_axis_tdata,
    output wire logic u1_m_axis_tvalid,
    input  wire logic u1_m_axis_tready,
    output wire logic u1_m_axis_tlast,

    input  wire logic [U2_EPS_WIDTH-1:0] u2_eps_term,
    input  wire logic [U2_SHIFT_WIDTH-1:0] u2_shift,
    input  wire logic u2_param_wr_en,
    input  wire logic [(U2_D/U2_PARALLEL > 1 ? $clog2(U2_D/U2_PARALLEL) : 1)-1:0] u2_param_wr_addr,
    input  wire logic [U2_PARALLEL*16-1:0] u2_param_wr_gamma,
    input  wire logic [U2_PARALLEL*32-1:0] u2_param_wr_beta,
    output wire logic u2_param_en,
    input  wire logic [U2_PARALLEL*8-1:0] u2_s_axis_tdata,
    input  wire logic u2_s_axis_tvalid,
    output wire logic u2_s_axis_tready,
    input  wire logic u2_s_axis_tlast,
    output wire logic [U2_PARALLEL*8-1:0] u2_m_axis_tdata,
    output wire logic u2_m_axis_tvalid,
    input  wire logic u2_m_axis_tready,
    output wire logic u2_m_axis_tlast
);

layernorm_unit #(
    .D(U0_D),
    .PARALLEL(U0_PARALLEL),
    .EPS_WIDTH(U0_EPS_WIDTH),
    .SHIFT_WIDTH(U0_SHIFT_WIDTH),
    .BUFFERS(U0_BUFFERS),
    .DIVIDERS(U0_DIVIDERS)
) u0_inst (
    .clk(clk),
    .rst(rst),
    .eps_term(u0_eps_term),
    .shift(u0_shift),
    .param_wr_en(u0_param_wr_en),
    .param_wr_addr(u0_param_wr_addr),
    .param_wr_gamma(u0_param_wr_gamma),
    .param_wr_beta(u0_param_wr_beta),
    .param_en(u0_param_en),
    .s_axis_tdata(u0_s_axis_tdata),
    .s_axis_tvalid(u0_s_axis_tvalid),
    .s_axis_tready(u0_s_axis_tready),
    .s_axis_tlast(u0_s_axis_tlast),
    .m_axis_tdata(u0_m_axis_tdata),
    .m_axis_tvalid(u0_m_axis_tvalid),
    .m_axis_tready(u0_m_axis_tready),
    .m_axis_tlast(u0_m_axis_tlast)
);

layernorm_unit #(
    .D(U1_D),
    .PARALLEL(U1_PARALLEL),
    .EPS_WIDTH(U1_EPS_WIDTH),
    .SHIFT_WIDTH(U1_SHIFT_WIDTH),
    .BUFFERS(U1_BUFFERS),
    .DIVIDERS(U1_DIVIDERS)
) u1_inst (
    .clk(clk),
    .rst(rst),
    .eps_term(u1_eps_term),
    .shift(u1_shift),
    .param_wr_en(u1_param_wr_en),
    .param_wr_addr(u1_param_wr_addr),
    .param_wr_gamma(u1_param_wr_gamma),
    .param_wr_beta(u1_param_wr_beta),
    .param_en(u1_param_en),
    .s_axis_tdata(u1_s_axis_tdata),
    .s_axis_tvalid(u1_s_axis_tvalid),
    .s_axis_tready(u1_s_axis_tready),
    .s_axis_tlast(u1_s_axis_tlast),
    .m_axis_tdata(u1_m_axis_tdata),
    .m_axis_tvalid(u1_m_axis_tvalid),
    .m_axis_tready(u1_m_axis_tready),
    .m_axis_tlast(u1_m_axis_tlast)
);

layernorm_unit #(
    .D(U2_D),
    .PARALLEL(U2_PARALLEL),
    .EPS_WIDTH(U2_EPS_WIDTH),
    .SHIFT_WIDTH(U2_SHIFT_WIDTH),
    .BUFFERS(U2_BUFFERS),
    .DIVIDERS(U2_DIVIDERS)
) u2_inst (
    .clk(clk),
    .rst(rst),
    .eps_term(u2_eps_term),
    .shift(u2_shift),
    .param_wr_en(u2_param_wr_en),
    .param_wr_addr(u2_param_wr_addr),
    .param_wr_gamma(u2_param_wr_gamma),
    .param_wr_beta(u2_param_wr_beta),
    .param_en(u2_param_en),
    .s_axis_tdata(u2_s_axis_tdata),
    .s_axis_tvalid(u2_s_axis_tvalid),
    .s_axis_tready(u2_s_axis_tready),
    .s_axis_tlast(u2_s_axis_tlast),
    .m_axis_tdata(u2_m_axis_tdata),
    .m_axis_tvalid(u2_m_axis_tvalid),
    .m_axis_tready(u2_m_axis_tready),
    .m_axis_tlast(u2_m_axis_tlast)
);

endmodule : layernorm_tb

`resetall
