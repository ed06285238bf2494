// Element-wise nonlinearity (GELU, sigmoid, ...) as a 256-entry table loaded at run time, PARALLEL lanes per beat.
//
// Contract: docs/arithmetic.md §7: y = table[x & 0xFF], the int8 input's two's-complement byte is the address
// (x = -1 reads entry 255); golden model spvit.sim.golden.lut.lut; HLS twin hw/hls/lut.hpp. The tables come from
// the model bundle (spvit.sim.golden.lut.make_lut): int8 for GELU, uint8 at frac 8 for sigmoid; this module just
// stores 8-bit entries, the consumer reads them as signed or unsigned.
//
// Table write port (as AXI-Lite or a DMA fills it): tbl_wr_en / tbl_wr_addr / tbl_wr_data, one entry per cycle,
// visible to lookups from the next cycle on. Writing while a stream is in flight is allowed but then the beats
// around the write see the old or the new entry; load the table between tensors.
// Table sets: SETS tables per lane; wr_set picks the one written, rd_set the one looked up (the encoder block keeps
// one GELU table per parameter set, and may write one while it reads another).
// Storage: one 256 x 8 copy per lane (each a LUTRAM or a small BRAM with one write and one read port, all written
// together), read synchronously into the output register.
// Streams: s_axis / m_axis carry PARALLEL 8-bit lanes per beat, tlast passed through; one beat per cycle. The read
// into the output register is enabled only when that register may load (s_axis_tready), as a BRAM's clock enable.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module lut #(
    parameter int PARALLEL = 4,  // lookups per beat
    parameter int SETS = 1,      // tables held (wr_set / rd_set pick one)
    // derived
    localparam int SET_WIDTH = SETS > 1 ? $clog2(SETS) : 1
) (
    input  wire logic                     clk,
    input  wire logic                     rst,

    input  wire logic [SET_WIDTH-1:0]     wr_set,       // the table written
    input  wire logic [SET_WIDTH-1:0]     rd_set,       // the table read
    input  wire logic                     tbl_wr_en,
    input  wire logic [7:0]               tbl_wr_addr,  // the input byte the entry answers
    input  wire logic [7:0]               tbl_wr_data,

    input  wire logic [PARALLEL-1:0][7:0] s_axis_tdata,
    input  wire logic                     s_axis_tvalid,
    output wire logic                     s_axis_tready,
    input  wire logic                     s_axis_tlast,

    output wire logic [PARALLEL-1:0][7:0] m_axis_tdata,
    output wire logic                     m_axis_tvalid,
    input  wire logic                     m_axis_tready,
    output wire logic                     m_axis_tlast
);

if (PARALLEL < 1) begin : g_check_parallel
    $fatal(1, "lut: PARALLEL (%0d) must be >= 1", PARALLEL);
end
if (SETS < 1) begin : g_check_sets
    $fatal(1, "lut: SETS (%0d) must be >= 1", SETS);
end
localparam int T_WIDTH = $clog2(SETS * 256);
logic [T_WIDTH-1:0] wr_base, rd_base;  // the tables' first entries
assign wr_base = T_WIDTH'(wr_set) << 8;
assign rd_base = T_WIDTH'(rd_set) << 8;

// Output register stage (the data registers are the table read registers, per lane). Only the valid flag is reset.
logic [PARALLEL-1:0][7:0] m_axis_tdata_reg;
logic                     m_axis_tvalid_reg, m_axis_tvalid_next;
logic                     m_axis_tlast_reg;

assign s_axis_tready = !m_axis_tvalid_reg || m_axis_tready;
assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;

wire beat = s_axis_tvalid && s_axis_tready;

for (genvar l = 0; l < PARALLEL; l++) begin : g_lane
    logic [7:0] table_mem [SETS * 256];
    logic [7:0] data_reg;  // the memory's read register is the lane's output register
    always_ff @(posedge clk) begin
        if (tbl_wr_en) begin
            table_mem[wr_base | T_WIDTH'(tbl_wr_addr)] <= tbl_wr_data;
        end
        if (beat) begin
            data_reg <= table_mem[rd_base | T_WIDTH'(s_axis_tdata[l])];
        end
    end
    assign m_axis_tdata_reg[l] = data_reg;
end

always_comb begin
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;
    if (beat) begin
        m_axis_tvalid_next = 1'b1;
    end
end

always_ff @(posedge clk) begin
    if (beat) begin
        m_axis_tlast_reg <= s_axis_tlast;
    end
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    if (rst) begin
        m_axis_tvalid_reg <= 1'b0;
    end
end

endmodule : lut

`resetall
