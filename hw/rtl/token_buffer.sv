// Token buffer: a RAM written from one AXI-Stream and read back, in the same order, on another. The read side never
// passes the write side, so a reader may start while the tokens are still arriving (or long after).
//
// No arithmetic of docs/arithmetic.md lives here: the encoder block keeps a block's input tokens x in one of these
// for the first residual (§11.2 x1 = residual_add(x, proj(ctx))) and x1 in another for the second, while the
// attention and the MLP run.
// Both pointers restart at word 0 on `clear` (once per image); DEPTH words of WIDTH bits (plus tlast) at most per
// image: further input beats are refused (s_axis_tready low). m_axis returns words 0, 1, ... with their tlast, as soon
// as each has been written. Throughput: one word per cycle each way; a word written in cycle t can leave at t + 2.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module token_buffer #(
    parameter int WIDTH = 128,  // bits per word
    parameter int DEPTH = 268   // words per image (N_MAX tokens x beats per token)
) (
    input  wire logic             clk,
    input  wire logic             rst,
    input  wire logic             clear,  // restart both sides at word 0 (drops what is in flight)

    input  wire logic [WIDTH-1:0] s_axis_tdata,
    input  wire logic             s_axis_tvalid,
    output wire logic             s_axis_tready,
    input  wire logic             s_axis_tlast,

    output wire logic [WIDTH-1:0] m_axis_tdata,
    output wire logic             m_axis_tvalid,
    input  wire logic             m_axis_tready,
    output wire logic             m_axis_tlast
);

localparam int PTR_WIDTH = $clog2(DEPTH + 1);
localparam int ADDR_WIDTH = DEPTH > 1 ? $clog2(DEPTH) : 1;

if (DEPTH < 1 || WIDTH < 1) begin : g_check
    $fatal(1, "token_buffer: DEPTH (%0d) and WIDTH (%0d) must be positive", DEPTH, WIDTH);
end

logic [WIDTH:0]         mem [DEPTH];  // {tlast, data}
logic [WIDTH:0]         q_reg;
logic [PTR_WIDTH-1:0]   wr_ptr_reg, rd_ptr_reg;
logic                   pending_reg;  // a read was issued last cycle: q_reg enters the FIFO now
logic [1:0][WIDTH:0]    fifo_reg;
logic [1:0]             count_reg;
logic                   head_reg, tail_reg;

wire wr = s_axis_tvalid && s_axis_tready;
wire pop = m_axis_tvalid && m_axis_tready;
// Room for one more read: the FIFO (2 entries) must hold what is in it, what is in flight and the new word.
wire issue = rd_ptr_reg < wr_ptr_reg && (3'(count_reg) + 3'(pending_reg) - 3'(pop)) < 3'd2;

assign s_axis_tready = wr_ptr_reg < PTR_WIDTH'(DEPTH);
assign m_axis_tvalid = count_reg != 2'd0;
assign m_axis_tdata = fifo_reg[head_reg][WIDTH-1:0];
assign m_axis_tlast = fifo_reg[head_reg][WIDTH];

always_ff @(posedge clk) begin
    if (wr) begin
        mem[ADDR_WIDTH'(wr_ptr_reg)] <= {s_axis_tlast, s_axis_tdata};
    end
    if (issue) begin
        q_reg <= mem[ADDR_WIDTH'(rd_ptr_reg)];
    end
end

always_ff @(posedge clk) begin
    if (wr) begin
        wr_ptr_reg <= wr_ptr_reg + 1'b1;
    end
    if (issue) begin
        rd_ptr_reg <= rd_ptr_reg + 1'b1;
    end
    pending_reg <= issue;
    if (pending_reg) begin
        fifo_reg[tail_reg] <= q_reg;
        tail_reg <= !tail_reg;
    end
    if (pop) begin
        head_reg <= !head_reg;
    end
    count_reg <= count_reg + 2'(pending_reg) - 2'(pop);
    if (rst || clear) begin
        wr_ptr_reg <= '0;
        rd_ptr_reg <= '0;
        pending_reg <= 1'b0;
        count_reg <= '0;
        head_reg <= 1'b0;
        tail_reg <= 1'b0;
    end
end

endmodule : token_buffer

`resetall
