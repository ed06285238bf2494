// One unit of the layernorm testbench: hw/rtl/layernorm.sv with its parameter memory, a block RAM model (one-cycle
// registered read with enable) that the testbench writes through param_wr_*. layernorm_tb.sv instantiates several
// units with different parameters.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module layernorm_unit #(
    parameter int D = 16,           // channels per token
    parameter int PARALLEL = 4,     // channels per beat
    parameter int EPS_WIDTH = 41,   // eps_term port width
    parameter int SHIFT_WIDTH = 7,  // shift port width
    parameter int BUFFERS = 2,      // token buffers
    parameter int DIVIDERS = 1      // division + square-root units
) (
    input  wire logic                           clk,
    input  wire logic                           rst,

    input  wire logic [EPS_WIDTH-1:0]           eps_term,
    input  wire logic [SHIFT_WIDTH-1:0]         shift,

    // testbench write port of the parameter memory: word a = channels a * PARALLEL ..
    input  wire logic                           param_wr_en,
    input  wire logic [(D/PARALLEL > 1 ? $clog2(D/PARALLEL) : 1)-1:0] param_wr_addr,
    input  wire logic [PARALLEL*16-1:0]         param_wr_gamma,
    input  wire logic [PARALLEL*32-1:0]         param_wr_beta,
    output wire logic                           param_en,  // observed by the testbench

    input  wire logic [PARALLEL*8-1:0]          s_axis_tdata,
    input  wire logic                           s_axis_tvalid,
    output wire logic                           s_axis_tready,
    input  wire logic                           s_axis_tlast,

    output wire logic [PARALLEL*8-1:0]          m_axis_tdata,
    output wire logic                           m_axis_tvalid,
    input  wire logic                           m_axis_tready,
    output wire logic                           m_axis_tlast
);

localparam int BEATS = D / PARALLEL;
localparam int ADDR_WIDTH = BEATS > 1 ? $clog2(BEATS) : 1;

logic [PARALLEL*48-1:0] mem [2**ADDR_WIDTH];
logic [PARALLEL*48-1:0] rd_reg;
logic [ADDR_WIDTH-1:0]  param_addr;

always_ff @(posedge clk) begin
    if (param_wr_en) begin
        mem[param_wr_addr] <= {param_wr_beta, param_wr_gamma};
    end
    if (param_en) begin
        rd_reg <= mem[param_addr];
    end
end

layernorm #(
    .D(D),
    .PARALLEL(PARALLEL),
    .EPS_WIDTH(EPS_WIDTH),
    .SHIFT_WIDTH(SHIFT_WIDTH),
    .BUFFERS(BUFFERS),
    .DIVIDERS(DIVIDERS)
) dut (
    .clk(clk),
    .rst(rst),
    .eps_term(eps_term),
    .shift(shift),
    .param_en(param_en),
    .param_addr(param_addr),
    .param_gamma(rd_reg[PARALLEL*16-1:0]),
    .param_beta(rd_reg[PARALLEL*48-1:PARALLEL*16]),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

endmodule : layernorm_unit

`resetall
