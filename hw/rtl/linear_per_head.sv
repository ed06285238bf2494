// Per-head linear layer: HEADS independent weight sets W[h] [OUT_DIM, IN_DIM] applied to the head slices of a token,
// one linear.sv MAC array time-shared over the heads, with the weight and bias memories behind it.
//
// Contract: docs/arithmetic.md §3 ("the same holds per head for the selector's per-head layers: W [H, out, in], head h
// only sees channel slice h") and §2.3; golden model spvit.sim.golden.params.LinearParams (3-D weight), HLS twin
// linear_per_head in hw/hls/linear.hpp. The arithmetic is linear.sv's; this module only selects head h's weights.
//
// Streams: those of linear.sv with one "token" of the MAC array per head slice. s_axis carries, for every token, the
// HEADS slices in head order, each IN_DIM / SIMD beats of SIMD int8 lanes (so a token of HEADS * IN_DIM channels in
// channel order); m_axis carries OUT_DIM / PE beats of PE lanes per slice, in the same order. tlast: on the last beat
// of a slice (normally the last head of the last token), comes out on the last beat of that slice's result.
// HEADS = 1 is a plain linear layer with its memories.
//
// Head selection: linear.sv reads weight words 0, 1, ..., NF*SF-1 for every slice, in slice order, and holds the
// address in between; so the slice being issued changes exactly when the weight address steps from NF*SF-1 back to
// 0. A head counter follows those steps and forms the memory address {head, word}. That needs NF*SF >= 2 when
// HEADS > 1 (else every read is word 0 and the steps are invisible): elaboration refuses other combinations.
//
// Parameter loading (while no slice is in flight; quasi-static like `shift`): w_load_* takes the weights one int8 per
// beat in the bundle's row-major [HEADS, OUT_DIM, IN_DIM] order (the order of the HLS m_axi layout), b_load_* the
// biases one int32 per beat in [HEADS, OUT_DIM] order. Each port's position counter wraps after the last element and
// restarts on rst, so a full load always starts at element 0. Memories: weights HEADS*NF*SF words of PE*SIMD bytes
// (one memory per PE lane written a SIMD-byte row at a time, the linear.sv layout of sim/rtl_layout.py per head),
// biases HEADS*NF words of PE int32; both registered reads (linear.sv MEM_LATENCY = 1).
// Timing: linear.sv's, NF*SF cycles per slice (HEADS*NF*SF per token) back to back.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module linear_per_head #(
    parameter int HEADS = 4,            // weight sets (H); 1 for a plain layer
    parameter int IN_DIM = 16,          // inputs per head
    parameter int OUT_DIM = 16,         // outputs per head
    parameter int SIMD = 4,             // input lanes per beat; divides IN_DIM
    parameter int PE = 2,               // output lanes per beat; divides OUT_DIM
    parameter int SHIFT_WIDTH = 7,      // signed shift port width
    parameter int OUT_FIFO_DEPTH = 8,   // linear.sv output FIFO
    parameter int MACS_PER_DSP = 1      // linear.sv: int8 products per multiplier, 1 or 2 (PE even)
) (
    input  wire logic                          clk,
    input  wire logic                          rst,

    input  wire logic signed [SHIFT_WIDTH-1:0] shift,  // f_in + f_w - f_out (quasi-static)

    input  wire logic        [SIMD-1:0][7:0]   s_axis_tdata,
    input  wire logic                          s_axis_tvalid,
    output wire logic                          s_axis_tready,
    input  wire logic                          s_axis_tlast,

    output wire logic        [PE-1:0][7:0]     m_axis_tdata,
    output wire logic                          m_axis_tvalid,
    input  wire logic                          m_axis_tready,
    output wire logic                          m_axis_tlast,

    input  wire logic                          w_load_valid,  // one weight, [HEADS, OUT_DIM, IN_DIM] order
    input  wire logic        [7:0]             w_load_data,
    input  wire logic                          b_load_valid,  // one bias, [HEADS, OUT_DIM] order
    input  wire logic        [31:0]            b_load_data
);

localparam int SF = IN_DIM / SIMD;
localparam int NF = OUT_DIM / PE;
localparam int WORDS = NF * SF;                         // weight words per head
localparam int W_ADDR_WIDTH = WORDS > 1 ? $clog2(WORDS) : 1;
localparam int B_ADDR_WIDTH = NF > 1 ? $clog2(NF) : 1;
localparam int HEAD_WIDTH = HEADS > 1 ? $clog2(HEADS) : 1;
localparam int WMEM_DEPTH = HEADS * WORDS;
localparam int BMEM_DEPTH = HEADS * NF;
localparam int WMEM_ADDR_WIDTH = WMEM_DEPTH > 1 ? $clog2(WMEM_DEPTH) : 1;
localparam int BMEM_ADDR_WIDTH = BMEM_DEPTH > 1 ? $clog2(BMEM_DEPTH) : 1;
localparam int S_WIDTH = SIMD > 1 ? $clog2(SIMD) : 1;
localparam int SF_WIDTH = SF > 1 ? $clog2(SF) : 1;
localparam int P_WIDTH = PE > 1 ? $clog2(PE) : 1;
localparam int NF_WIDTH = NF > 1 ? $clog2(NF) : 1;

if (HEADS < 1) begin : g_check_heads
    $fatal(1, "linear_per_head: HEADS (%0d) must be >= 1", HEADS);
end
if (SIMD < 1 || PE < 1 || IN_DIM % SIMD != 0 || OUT_DIM % PE != 0) begin : g_check_fold
    $fatal(1, "linear_per_head: SIMD (%0d) must divide IN_DIM (%0d) and PE (%0d) must divide OUT_DIM (%0d)",
           SIMD, IN_DIM, PE, OUT_DIM);
end
if (HEADS > 1 && WORDS < 2) begin : g_check_words
    $fatal(1, "linear_per_head: HEADS > 1 needs (IN_DIM / SIMD) * (OUT_DIM / PE) >= 2 (got %0d)", WORDS);
end

// ---- MAC array -----------------------------------------------------------------------------------------------------
logic [W_ADDR_WIDTH-1:0]        w_rd_addr;
logic [B_ADDR_WIDTH-1:0]        b_rd_addr;
logic [PE-1:0][SIMD-1:0][7:0]   w_rd_data;
logic [PE-1:0][31:0]            b_rd_data;

linear #(
    .IN_DIM(IN_DIM),
    .OUT_DIM(OUT_DIM),
    .SIMD(SIMD),
    .PE(PE),
    .ACC_OUT(1'b0),
    .SHIFT_WIDTH(SHIFT_WIDTH),
    .MEM_LATENCY(1),
    .OUT_FIFO_DEPTH(OUT_FIFO_DEPTH),
    .MACS_PER_DSP(MACS_PER_DSP)
) linear_inst (
    .clk(clk),
    .rst(rst),
    .shift(shift),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .s_axis_tuser(1'b0),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast),
    .w_rd_addr(w_rd_addr),
    .w_rd_data(w_rd_data),
    .b_rd_addr(b_rd_addr),
    .b_rd_data(b_rd_data)
);

// ---- head of the slice being read ----------------------------------------------------------------------------------
logic [HEAD_WIDTH-1:0] head;  // head of the weight word read this cycle

if (HEADS > 1) begin : g_track
    logic [W_ADDR_WIDTH-1:0] prev_addr_reg;
    logic [HEAD_WIDTH-1:0]   head_reg;
    wire step = prev_addr_reg == W_ADDR_WIDTH'(WORDS - 1) && w_rd_addr == '0;
    always_comb begin
        head = head_reg;
        if (step) begin
            head = head_reg == HEAD_WIDTH'(HEADS - 1) ? '0 : head_reg + 1'b1;
        end
    end
    always_ff @(posedge clk) begin
        prev_addr_reg <= w_rd_addr;
        head_reg <= head;
        if (rst) begin
            prev_addr_reg <= '0;
            head_reg <= '0;
        end
    end
end else begin : g_one
    assign head = '0;
end

// ---- memories ------------------------------------------------------------------------------------------------------
// One weight memory per PE lane, written a whole SIMD-byte row at a time: the load stream delivers row (p, sf) as
// SIMD consecutive bytes, so staging SIMD - 1 of them turns byte writes into full-width writes. Byte-lane writes
// into one PE*SIMD-byte word made yosys map each weight bit to its own LUTRAM cell (7x the LUTs of packed
// distributed RAM: 42.5 k at DeiT-Small).
logic [PE-1:0][SIMD-1:0][7:0] w_q_reg;
logic [PE-1:0][31:0]          b_q_reg;

assign w_rd_data = w_q_reg;
assign b_rd_data = b_q_reg;

// Weight load position: element (h, o, i) with o = nf*PE + p, i = sf*SIMD + s, row-major.
logic [HEAD_WIDTH-1:0] wl_h_reg;
logic [NF_WIDTH-1:0]   wl_nf_reg;
logic [P_WIDTH-1:0]    wl_p_reg;
logic [SF_WIDTH-1:0]   wl_sf_reg;
logic [S_WIDTH-1:0]    wl_s_reg;
// Bias load position: element (h, o), o = nf*PE + p.
logic [HEAD_WIDTH-1:0] bl_h_reg;
logic [NF_WIDTH-1:0]   bl_nf_reg;
logic [P_WIDTH-1:0]    bl_p_reg;

wire [WMEM_ADDR_WIDTH-1:0] wl_addr = WMEM_ADDR_WIDTH'((int'(wl_h_reg) * NF + int'(wl_nf_reg)) * SF + int'(wl_sf_reg));
wire [BMEM_ADDR_WIDTH-1:0] bl_addr = BMEM_ADDR_WIDTH'(int'(bl_h_reg) * NF + int'(bl_nf_reg));
wire [WMEM_ADDR_WIDTH-1:0] w_addr = WMEM_ADDR_WIDTH'(int'(head) * WORDS + int'(w_rd_addr));
wire [BMEM_ADDR_WIDTH-1:0] b_addr = BMEM_ADDR_WIDTH'(int'(head) * NF + int'(b_rd_addr));

// The row being loaded: bytes 0 .. s - 1 staged, byte s arriving.
logic [SIMD-1:0][7:0] wl_row;
logic [SIMD-1:0][7:0] wl_stage_reg;
wire                  wl_row_done = w_load_valid && wl_s_reg == S_WIDTH'(SIMD - 1);

always_comb begin
    wl_row = wl_stage_reg;
    wl_row[wl_s_reg] = w_load_data;
end

always_ff @(posedge clk) begin
    if (w_load_valid) begin
        wl_stage_reg <= wl_row;
    end
end

// Distributed RAM: these small per-head tables would take block RAM that the encoder block's parameters need.
for (genvar p = 0; p < PE; p++) begin : g_wmem
    (* ram_style = "distributed" *) logic [SIMD-1:0][7:0] mem [WMEM_DEPTH];
    always_ff @(posedge clk) begin
        if (wl_row_done && wl_p_reg == P_WIDTH'(p)) begin
            mem[wl_addr] <= wl_row;
        end
        w_q_reg[p] <= mem[w_addr];
    end
end

for (genvar p = 0; p < PE; p++) begin : g_bmem
    (* ram_style = "distributed" *) logic [31:0] mem [BMEM_DEPTH];
    always_ff @(posedge clk) begin
        if (b_load_valid && bl_p_reg == P_WIDTH'(p)) begin
            mem[bl_addr] <= b_load_data;
        end
        b_q_reg[p] <= mem[b_addr];
    end
end

// Load counters, innermost first: s, sf (input index), p, nf (output index), head.
always_ff @(posedge clk) begin
    if (w_load_valid) begin
        wl_s_reg <= wl_s_reg + 1'b1;
        if (wl_s_reg == S_WIDTH'(SIMD - 1)) begin
            wl_s_reg <= '0;
            wl_sf_reg <= wl_sf_reg + 1'b1;
            if (wl_sf_reg == SF_WIDTH'(SF - 1)) begin
                wl_sf_reg <= '0;
                wl_p_reg <= wl_p_reg + 1'b1;
                if (wl_p_reg == P_WIDTH'(PE - 1)) begin
                    wl_p_reg <= '0;
                    wl_nf_reg <= wl_nf_reg + 1'b1;
                    if (wl_nf_reg == NF_WIDTH'(NF - 1)) begin
                        wl_nf_reg <= '0;
                        wl_h_reg <= wl_h_reg == HEAD_WIDTH'(HEADS - 1) ? '0 : wl_h_reg + 1'b1;
                    end
                end
            end
        end
    end
    if (b_load_valid) begin
        bl_p_reg <= bl_p_reg + 1'b1;
        if (bl_p_reg == P_WIDTH'(PE - 1)) begin
            bl_p_reg <= '0;
            bl_nf_reg <= bl_nf_reg + 1'b1;
            if (bl_nf_reg == NF_WIDTH'(NF - 1)) begin
                bl_nf_reg <= '0;
                bl_h_reg <= bl_h_reg == HEAD_WIDTH'(HEADS - 1) ? '0 : bl_h_reg + 1'b1;
            end
        end
    end
    if (rst) begin
        wl_h_reg <= '0;
        wl_nf_reg <= '0;
        wl_p_reg <= '0;
        wl_sf_reg <= '0;
        wl_s_reg <= '0;
        bl_h_reg <= '0;
        bl_nf_reg <= '0;
        bl_p_reg <= '0;
    end
end

endmodule : linear_per_head

`resetall
