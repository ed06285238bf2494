// On-chip parameter memory for a vector of N narrow integers (LayerNorm G or B, a linear layer's biases, a 256-entry
// table), written from the 128-bit parameter word stream of the encoder block and read RD_LANES values at a time.
//
// No arithmetic of docs/arithmetic.md lives here: this is the storage behind the parameter ports of layernorm.sv and
// linear.sv. Word layout (docs/hls.md, encoder_block.hpp load_lanes, spvit.sim.hls_kernels.pack_words): value i of the
// vector sits in word i / WL, bits [(i % WL) * LANE_WIDTH +: LANE_WIDTH], WL = 128 / LANE_WIDTH; the words arrive in
// order (wr_clear restarts at word 0).
//
// Read port: the timing of a block RAM with an enable. rd_addr selects RD_LANES consecutive values (word a holds
// values a * RD_LANES .. a * RD_LANES + RD_LANES - 1, lane l at bits [l * LANE_WIDTH +: LANE_WIDTH]); the data appears
// on rd_data in the cycle after a clock edge with rd_en high and holds while rd_en is low.
// Parameter sets: SETS copies of the vector in one memory; wr_set picks the copy written, rd_set the copy read (one set
// may be written while another is read; hold wr_set while writing a set, wr_clear restarts at its word 0).
// Storage: RD_LANES >= WL: RD_LANES / WL banks of 128-bit words (word j in bank j % BANKS at j / BANKS), all read at
// rd_addr. RD_LANES < WL: one bank of 128-bit words, word rd_addr / (WL / RD_LANES), lanes picked after the read.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module lane_mem #(
    parameter int N = 64,           // values stored
    parameter int LANE_WIDTH = 16,  // bits per value: 8, 16 or 32
    parameter int RD_LANES = 8,     // values per read word; a power of two dividing N
    parameter int SETS = 1,         // parameter sets held (wr_set / rd_set pick one)
    // derived
    localparam int SET_WIDTH = SETS > 1 ? $clog2(SETS) : 1,
    localparam int WL = 128 / LANE_WIDTH,
    localparam int RD_DEPTH = N / RD_LANES,
    localparam int RD_ADDR_WIDTH = RD_DEPTH > 1 ? $clog2(RD_DEPTH) : 1
) (
    input  wire logic                                 clk,
    input  wire logic                                 rst,

    input  wire logic [SET_WIDTH-1:0]                 wr_set,    // the set written
    input  wire logic [SET_WIDTH-1:0]                 rd_set,    // the set read
    input  wire logic                                 wr_clear,  // next write is word 0
    input  wire logic                                 wr_en,
    input  wire logic [127:0]                         wr_data,

    input  wire logic                                 rd_en,
    input  wire logic [RD_ADDR_WIDTH-1:0]             rd_addr,
    output wire logic [RD_LANES-1:0][LANE_WIDTH-1:0]  rd_data
);

localparam int WORDS = N / WL;                                   // 128-bit words written
localparam int BANKS = RD_LANES >= WL ? RD_LANES / WL : 1;
localparam int SUBS = RD_LANES >= WL ? 1 : WL / RD_LANES;        // read words per stored word
localparam int BANK_DEPTH = WORDS / BANKS;
localparam int BANK_WIDTH = BANKS > 1 ? $clog2(BANKS) : 1;
localparam int SUB_WIDTH = SUBS > 1 ? $clog2(SUBS) : 1;
localparam int WADDR_WIDTH = BANK_DEPTH > 1 ? $clog2(BANK_DEPTH) : 1;
localparam int WCOUNT_WIDTH = $clog2(WORDS + 1);

if (LANE_WIDTH != 8 && LANE_WIDTH != 16 && LANE_WIDTH != 32) begin : g_check_lane
    $fatal(1, "lane_mem: LANE_WIDTH (%0d) must be 8, 16 or 32", LANE_WIDTH);
end
if (SETS < 1) begin : g_check_sets
    $fatal(1, "lane_mem: SETS (%0d) must be >= 1", SETS);
end
if (RD_LANES < 1 || (RD_LANES & (RD_LANES - 1)) != 0 || N % RD_LANES != 0 || N % WL != 0) begin : g_check_n
    $fatal(1, "lane_mem: RD_LANES (%0d) must be a power of two, and RD_LANES and %0d must divide N (%0d)",
           RD_LANES, WL, N);
end

// ---- write side: word counter -> (bank, address) ---------------------------------------------------------------
logic [WCOUNT_WIDTH-1:0] wcount_reg;
logic [BANK_WIDTH-1:0]   wbank;
logic [WADDR_WIDTH-1:0]  waddr;

if (BANKS > 1) begin : g_wbank
    assign wbank = wcount_reg[BANK_WIDTH-1:0];
    assign waddr = WADDR_WIDTH'(wcount_reg >> BANK_WIDTH);
end else begin : g_wone
    assign wbank = '0;
    assign waddr = WADDR_WIDTH'(wcount_reg);
end

always_ff @(posedge clk) begin
    if (wr_en) begin
        wcount_reg <= wcount_reg + 1'b1;
    end
    if (wr_clear || rst) begin
        wcount_reg <= '0;
    end
end

// ---- banks ---------------------------------------------------------------------------------------------------------
localparam int MEM_DEPTH = SETS * BANK_DEPTH;
localparam int MADDR_WIDTH = MEM_DEPTH > 1 ? $clog2(MEM_DEPTH) : 1;
logic [BANKS-1:0][127:0] rd_word;
logic [WADDR_WIDTH-1:0]  raddr;
logic [MADDR_WIDTH-1:0]  wr_base, rd_base;  // the sets' first words
assign wr_base = MADDR_WIDTH'(wr_set) * MADDR_WIDTH'(BANK_DEPTH);
assign rd_base = MADDR_WIDTH'(rd_set) * MADDR_WIDTH'(BANK_DEPTH);

if (SUBS > 1) begin : g_raddr_sub
    assign raddr = WADDR_WIDTH'(rd_addr >> SUB_WIDTH);
end else begin : g_raddr
    assign raddr = WADDR_WIDTH'(rd_addr);
end

for (genvar b = 0; b < BANKS; b++) begin : g_bank
    logic [127:0] mem [MEM_DEPTH];
    logic [127:0] q_reg;
    always_ff @(posedge clk) begin
        if (wr_en && !wr_clear && wbank == BANK_WIDTH'(b)) begin
            mem[wr_base + MADDR_WIDTH'(waddr)] <= wr_data;
        end
        if (rd_en) begin
            q_reg <= mem[rd_base + MADDR_WIDTH'(raddr)];
        end
    end
    assign rd_word[b] = q_reg;
end

// ---- read lanes ----------------------------------------------------------------------------------------------------
if (SUBS > 1) begin : g_rd_sub
    logic [SUB_WIDTH-1:0] sub_reg;
    always_ff @(posedge clk) begin
        if (rd_en) begin
            sub_reg <= rd_addr[SUB_WIDTH-1:0];
        end
    end
    assign rd_data = rd_word[0][sub_reg * RD_LANES * LANE_WIDTH +: RD_LANES * LANE_WIDTH];
end else begin : g_rd_all
    assign rd_data = rd_word;
end

endmodule : lane_mem

`resetall
