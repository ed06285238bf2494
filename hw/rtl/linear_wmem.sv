// On-chip weight memory of one linear.sv instance, written from the encoder block's 128-bit parameter word stream in
// torch layout and read in linear.sv's SIMD x PE fold order.
//
// No arithmetic of docs/arithmetic.md lives here (§3's weights are only stored). Write layout (docs/hls.md,
// encoder_block.hpp load_2d, spvit.sim.hls_kernels.pack_words): W[o, i] (int8, [OUT_DIM, IN_DIM] row-major) is byte
// (o * IN_DIM + i) % 16 of word (o * IN_DIM + i) / 16; IN_DIM is a multiple of 16, so word (o, w) = o * IN_DIM / 16 + w
// holds W[o, 16 w .. 16 w + 15]. The words arrive in order (wr_clear restarts at word 0).
// Read layout (sim/rtl_layout.py, linear.sv): word a = nf * SF + sf holds W[nf * PE + p, sf * SIMD + s] at bits
// [(p * SIMD + s) * 8 +: 8]; the data for the address of cycle t is on w_rd_data in cycle t + 1 (MEM_LATENCY = 1).
// Parameter sets: SETS copies of the weights in one memory; wr_set picks the copy written, rd_set the copy read (one
// set may be written while another is read; hold wr_set while writing a set, wr_clear restarts at its word 0).
// Storage: SIMD >= 16: PE * SIMD / 16 banks of 128-bit words, bank (p, w % (SIMD/16)) at nf * SF + w / (SIMD/16) --
// one write per parameter word, one read of every bank per MAC cycle. SIMD < 16: PE banks of 128-bit words (row
// nf * IN_DIM / 16 + w), the SIMD lanes picked after the read.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module linear_wmem #(
    parameter int IN_DIM = 64,   // input features (a multiple of 16)
    parameter int OUT_DIM = 192, // output features
    parameter int SIMD = 16,     // linear.sv SIMD: a power of two dividing IN_DIM
    parameter int PE = 4,        // linear.sv PE: divides OUT_DIM
    parameter int SETS = 1,      // parameter sets held (wr_set / rd_set pick one)
    // derived
    localparam int SET_WIDTH = SETS > 1 ? $clog2(SETS) : 1,
    localparam int SF = IN_DIM / SIMD,
    localparam int NF = OUT_DIM / PE,
    localparam int W_ADDR_WIDTH = NF * SF > 1 ? $clog2(NF * SF) : 1
) (
    input  wire logic                          clk,
    input  wire logic                          rst,

    input  wire logic [SET_WIDTH-1:0]          wr_set,    // the set written
    input  wire logic [SET_WIDTH-1:0]          rd_set,    // the set read
    input  wire logic                          wr_clear,  // next write is word 0
    input  wire logic                          wr_en,
    input  wire logic [127:0]                  wr_data,

    input  wire logic [W_ADDR_WIDTH-1:0]       rd_addr,
    output wire logic [PE-1:0][SIMD-1:0][7:0]  rd_data
);

localparam int IW = IN_DIM / 16;                         // parameter words per output row
localparam int SUBS = SIMD >= 16 ? SIMD / 16 : 1;        // banks per PE
localparam int R = SIMD >= 16 ? 1 : 16 / SIMD;           // synapse folds per stored word
localparam int ROW = SIMD >= 16 ? SF : IW;               // bank words per neuron fold
localparam int DEPTH = NF * ROW;
localparam int ADDR_WIDTH = DEPTH > 1 ? $clog2(DEPTH) : 1;
localparam int IW_WIDTH = IW > 1 ? $clog2(IW) : 1;
localparam int PE_WIDTH = PE > 1 ? $clog2(PE) : 1;
localparam int SUB_WIDTH = SUBS > 1 ? $clog2(SUBS) : 1;
localparam int R_WIDTH = R > 1 ? $clog2(R) : 1;

if (IN_DIM % 16 != 0 || IN_DIM % SIMD != 0 || OUT_DIM % PE != 0) begin : g_check_dims
    $fatal(1, "linear_wmem: IN_DIM (%0d) must be a multiple of 16 and of SIMD (%0d); PE (%0d) must divide %0d",
           IN_DIM, SIMD, PE, OUT_DIM);
end
if (SETS < 1) begin : g_check_sets
    $fatal(1, "linear_wmem: SETS (%0d) must be >= 1", SETS);
end
if (SIMD < 1 || (SIMD & (SIMD - 1)) != 0) begin : g_check_simd
    $fatal(1, "linear_wmem: SIMD (%0d) must be a power of two", SIMD);
end

// ---- write side: (row o = nf * PE + p, word w of the row) counters -----------------------------------------------
logic [IW_WIDTH-1:0]   w_reg;
logic [PE_WIDTH-1:0]   p_reg;
logic [ADDR_WIDTH-1:0] base_reg;  // nf * ROW
logic [ADDR_WIDTH-1:0] waddr;
logic [SUB_WIDTH-1:0]  wsub;

if (SUBS > 1) begin : g_wsub
    assign wsub = w_reg[SUB_WIDTH-1:0];
    assign waddr = base_reg + ADDR_WIDTH'(w_reg >> SUB_WIDTH);
end else begin : g_wone
    assign wsub = '0;
    assign waddr = base_reg + ADDR_WIDTH'(w_reg);
end

always_ff @(posedge clk) begin
    if (wr_en) begin
        w_reg <= w_reg + 1'b1;
        if (w_reg == IW_WIDTH'(IW - 1)) begin
            w_reg <= '0;
            p_reg <= p_reg + 1'b1;
            if (p_reg == PE_WIDTH'(PE - 1)) begin
                p_reg <= '0;
                base_reg <= base_reg + ADDR_WIDTH'(ROW);
            end
        end
    end
    if (wr_clear || rst) begin
        w_reg <= '0;
        p_reg <= '0;
        base_reg <= '0;
    end
end

// ---- banks ---------------------------------------------------------------------------------------------------------
localparam int MEM_DEPTH = SETS * DEPTH;
localparam int MADDR_WIDTH = MEM_DEPTH > 1 ? $clog2(MEM_DEPTH) : 1;
logic [ADDR_WIDTH-1:0]  raddr;
logic [R_WIDTH-1:0]     rsub_reg;
logic [MADDR_WIDTH-1:0] wr_base, rd_base;  // the sets' first words
assign wr_base = MADDR_WIDTH'(wr_set) * MADDR_WIDTH'(DEPTH);
assign rd_base = MADDR_WIDTH'(rd_set) * MADDR_WIDTH'(DEPTH);

if (R > 1) begin : g_raddr_sub
    assign raddr = ADDR_WIDTH'(rd_addr >> R_WIDTH);
    always_ff @(posedge clk) begin
        rsub_reg <= rd_addr[R_WIDTH-1:0];
    end
end else begin : g_raddr
    assign raddr = ADDR_WIDTH'(rd_addr);
    always_ff @(posedge clk) begin
        rsub_reg <= '0;
    end
    wire unused_rsub = &{1'b0, rsub_reg};  // every bank word is one synapse fold
end

for (genvar p = 0; p < PE; p++) begin : g_pe
    for (genvar u = 0; u < SUBS; u++) begin : g_sub
        logic [127:0] mem [MEM_DEPTH];
        logic [127:0] q_reg;
        always_ff @(posedge clk) begin
            if (wr_en && !wr_clear && p_reg == PE_WIDTH'(p) && wsub == SUB_WIDTH'(u)) begin
                mem[wr_base + MADDR_WIDTH'(waddr)] <= wr_data;
            end
            q_reg <= mem[rd_base + MADDR_WIDTH'(raddr)];
        end
        if (R > 1) begin : g_pick
            assign rd_data[p] = q_reg[rsub_reg * SIMD * 8 +: SIMD * 8];
        end else begin : g_whole
            assign rd_data[p][u * 16 +: 16] = q_reg;
        end
    end
end

endmodule : linear_wmem

`resetall
