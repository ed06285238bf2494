// Token buffer: a RAM written from one AXI-Stream and read back, in the same order, on another. The read side never
// passes the write side, so a reader may start while the tokens are still arriving (or long after).
//
// No arithmetic of docs/arithmetic.md lives here: the encoder block keeps a block's input tokens x in one of these
// for the first residual (§11.2 x1 = residual_add(x, proj(ctx))) and x1 in another for the second, while the
// attention and the MLP run.
// Both pointers restart at word 0 on `clear` (once per image); DEPTH words of WIDTH bits (plus tlast) at most per
// image: further input beats are refused (s_axis_tready low). m_axis returns words 0, 1, ... with their tlast, as soon
// as each has been written. Throughput: one word per cycle each way; a word written in cycle t can leave at t + 2.
// REPLAY = 1 adds a second reader, m_axis_replay: once the word with tlast is written (the image is complete, and
// the buffer takes nothing more until `clear`), it returns words 0, 1, ... again on the write port, independently of
// m_axis (the encoder block runs LN1 over its input a second time for the queries). The RAM keeps two ports.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module token_buffer #(
    parameter int WIDTH = 128,  // bits per word
    parameter int DEPTH = 268,  // words per image (N_MAX tokens x beats per token)
    parameter bit REPLAY = 0    // 1: m_axis_replay reads the complete image again
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
    output wire logic             m_axis_tlast,

    output wire logic [WIDTH-1:0] m_axis_replay_tdata,
    output wire logic             m_axis_replay_tvalid,
    input  wire logic             m_axis_replay_tready,
    output wire logic             m_axis_replay_tlast
);

localparam int PTR_WIDTH = $clog2(DEPTH + 1);
localparam int ADDR_WIDTH = DEPTH > 1 ? $clog2(DEPTH) : 1;

if (DEPTH < 1 || WIDTH < 1) begin : g_check
    $fatal(1, "token_buffer: DEPTH (%0d) and WIDTH (%0d) must be positive", DEPTH, WIDTH);
end

localparam int READERS = REPLAY ? 2 : 1;

logic [WIDTH:0]         mem [DEPTH];  // {tlast, data}
logic [PTR_WIDTH-1:0]   wr_ptr_reg;
logic                   sealed_reg;   // the word with tlast is written (REPLAY: the image is complete)

wire wr = s_axis_tvalid && s_axis_tready;

assign s_axis_tready = wr_ptr_reg < PTR_WIDTH'(DEPTH) && !(REPLAY && sealed_reg);

// Readers: r = 0 is m_axis, r = 1 m_axis_replay. Each issues a RAM read when its 2-entry output FIFO has room for
// what is in it, what is in flight and the new word; the replay reader only when nothing is written (its reads share
// the write port).
logic [READERS-1:0][PTR_WIDTH-1:0] rd_ptr_reg;
logic [READERS-1:0][WIDTH:0]       q_reg;
logic [READERS-1:0]                pending_reg;  // a read was issued last cycle: q_reg enters the FIFO now
logic [READERS-1:0][1:0][WIDTH:0]  fifo_reg;
logic [READERS-1:0][1:0]           count_reg;
logic [READERS-1:0]                head_reg, tail_reg;
logic [READERS-1:0]                pop, issue, readable;
logic [READERS-1:0]                out_tvalid, out_tready;
logic [READERS-1:0][WIDTH-1:0]     out_tdata;
logic [READERS-1:0]                out_tlast;

assign readable[0] = rd_ptr_reg[0] < wr_ptr_reg;
if (REPLAY) begin : g_replay_port
    assign readable[1] = sealed_reg && rd_ptr_reg[1] < wr_ptr_reg && !wr;
    assign out_tready[1] = m_axis_replay_tready;
    assign m_axis_replay_tdata = out_tdata[1];
    assign m_axis_replay_tvalid = out_tvalid[1];
    assign m_axis_replay_tlast = out_tlast[1];
end else begin : g_no_replay
    assign m_axis_replay_tdata = '0;
    assign m_axis_replay_tvalid = 1'b0;
    assign m_axis_replay_tlast = 1'b0;
    wire unused_replay = &{1'b0, m_axis_replay_tready};
end
assign out_tready[0] = m_axis_tready;
assign m_axis_tdata = out_tdata[0];
assign m_axis_tvalid = out_tvalid[0];
assign m_axis_tlast = out_tlast[0];

for (genvar r = 0; r < READERS; r++) begin : g_reader
    assign out_tvalid[r] = count_reg[r] != 2'd0;
    assign out_tdata[r] = fifo_reg[r][head_reg[r]][WIDTH-1:0];
    assign out_tlast[r] = fifo_reg[r][head_reg[r]][WIDTH];
    assign pop[r] = out_tvalid[r] && out_tready[r];
    assign issue[r] = readable[r] && (3'(count_reg[r]) + 3'(pending_reg[r]) - 3'(pop[r])) < 3'd2;

    always_ff @(posedge clk) begin
        if (issue[r]) begin
            rd_ptr_reg[r] <= rd_ptr_reg[r] + 1'b1;
        end
        pending_reg[r] <= issue[r];
        if (pending_reg[r]) begin
            fifo_reg[r][tail_reg[r]] <= q_reg[r];
            tail_reg[r] <= !tail_reg[r];
        end
        if (pop[r]) begin
            head_reg[r] <= !head_reg[r];
        end
        count_reg[r] <= count_reg[r] + 2'(pending_reg[r]) - 2'(pop[r]);
        if (rst || clear) begin
            rd_ptr_reg[r] <= '0;
            pending_reg[r] <= 1'b0;
            count_reg[r] <= '0;
            head_reg[r] <= 1'b0;
            tail_reg[r] <= 1'b0;
        end
    end
end

// The RAM: port A writes (and serves the replay reader), port B serves m_axis.
wire [ADDR_WIDTH-1:0] a_addr = REPLAY && !wr ? ADDR_WIDTH'(rd_ptr_reg[READERS-1]) : ADDR_WIDTH'(wr_ptr_reg);

always_ff @(posedge clk) begin
    if (wr) begin
        mem[a_addr] <= {s_axis_tlast, s_axis_tdata};
    end
    if (REPLAY && issue[READERS-1]) begin
        q_reg[READERS-1] <= mem[a_addr];
    end
    if (issue[0]) begin
        q_reg[0] <= mem[ADDR_WIDTH'(rd_ptr_reg[0])];
    end
end

always_ff @(posedge clk) begin
    if (wr) begin
        wr_ptr_reg <= wr_ptr_reg + 1'b1;
        sealed_reg <= sealed_reg || s_axis_tlast;
    end
    if (rst || clear) begin
        wr_ptr_reg <= '0;
        sealed_reg <= 1'b0;
    end
end

endmodule : token_buffer

`resetall
