// SPViT multi-head token selector: the int8 tokens of an image in, one uint16 keep score (frac 16) per token out.
//
// Contract: docs/arithmetic.md §8.2, composed from §6 layernorm (layernorm.sv), §3 linear per head
// (linear_per_head.sv on linear.sv), §7 lut (lut.sv) and §2.4 rdiv (rdiv.sv) -- none of that arithmetic is repeated
// here. Golden model spvit.sim.golden.scoring.selector (SelectorParams), HLS twin hw/hls/selector.hpp. With H = HEADS
// heads of DH = D / H channels and n tokens:
//   1. u[j, h] = GELU(L_in[h](LN(x_j)[h]))                                int8, per head (in_proj [H, DH, DH])
//   2. g[h, c] = rdiv(sum_j u[j, h, c], n) for c >= DH/2                 over the n tokens of the image
//   3. k[j, h] = sigmoid(L_keep(GELU(L_2(GELU(L_1((u[j, h, :DH/2], g[h])))))))   uint8, DH -> DH/2 -> DH/4 -> 1
//   4. a[j, h] = rdiv(sum_c u[j, h, c], DH); w[j] = sigmoid(L_se2(GELU(L_se1(a[j]))))   H -> SE_WIDTH -> H, uint8
//   5. score_j = rdiv((sum_h w[j, h] k[j, h]) << 8, max(sum_h w[j, h], 1))
//
// Streams:
//   s_axis      the n tokens of an image (1 <= n <= N_MAX), D int8 channels over D / IN_LANES beats (channel c in lane
//               c % IN_LANES of beat c / IN_LANES, lane l at bits [8 l +: 8]), tlast on the last beat of token n - 1
//               (tlast frames the image).
//   m_axis      the n scores, token order, one uint16 per beat, tlast on score n - 1.
//   s_axis_prm  the parameters: 128-bit words in the HLS m_axi layout (docs/hls.md; spvit.sim.hls_kernels.pack_words of
//               spvit.sim.prune_regs.selector_param_arrays, the order of HlsBackend._block_arrays' selector part):
//               LN G (int16 [D]), B (int32 [D]), then weight (int8 [H, out, in] or [out, in]), bias (int32) and table
//               (256 x 8 bits) of in_proj, mlp1, mlp2, keep, se1, se2; tlast on the last word. Load them while no image
//               is in flight; they stay until overwritten (a reset restarts the loader at the first word but keeps
//               the memories).
//   norm_eps, *_shift  §6 E and the seven shifts (f_in + f_w - f_out per layer, 15 + f_g - f_out for LN), quasi-
//               static (spvit.sim.prune_regs.selector_regs derives them from a SelectorParams).
//
// Hardware (two passes, as the HLS twin): pass 1 streams every token through IN_LANES -> LN_LANES lanes (axis_lanes),
// layernorm, in_proj (one MAC array over the H head slices) and the GELU table; the u beats of each head update the
// column sums of the second half (registers), the row sum whose rdiv by DH gives a[j, h] (a rounding shift when DH is
// a power of two; else one divider, 8 cycles per head, overlapped with the stream), and the first half of u goes into
// a token buffer. After tlast: D/2 rdiv divisions by n give g. Pass 2 streams per token and head the features (u half
// from the buffer, g from registers) through mlp1 -> GELU -> mlp2 -> GELU -> keep -> sigmoid, and in parallel a[j] (a
// second buffer) through se1 -> GELU -> se2 -> sigmoid; a combiner waits for the H keep probabilities and the head
// weights of a token and divides (rdiv, 17 cycles) into its score. The next image's pass 1 starts once the last score
// has left.
// Cycles per image, roughly: pass 1 n * max(layernorm's 64 / LN_DIVIDERS per token, D / LN_LANES,
// H * DH * DH / (LN_LANES * IN_PE), 8 H when DH is not a power of two); then
// D/2 / DIVIDERS * 9 for g; pass 2 n * max(H * DH / IN_PE for its input, H * DH * DH / (2 IN_PE MLP1_PE) for mlp1,
// H * DH * DH / (8 MLP_PE^2) for mlp2, H DH / (4 KEEP_SIMD) for the keep layer, 20 / DIVIDERS for the combiner).
// Parallelism: LN_LANES (LN lanes = in_proj SIMD; divides DH; power of two), IN_PE (in_proj PE = its GELU's lanes =
// mlp1 SIMD; divides DH/2), MLP1_PE (mlp1 PE; divides DH/2; an axis_lanes passes its beats on to mlp2 at MLP_PE
// lanes), MLP_PE (mlp2 SIMD and PE; divides DH/4), LN_DIVIDERS (layernorm's division units, with two token buffers
// each), DIVIDERS (rdiv units of the global context and of the combiner, taking
// channels / tokens in turn; divides D/2). The keep layer takes KEEP_SIMD = MLP_PE lanes, or half of them (an
// axis_lanes in between) when MLP_PE = DH/4: linear_per_head.sv tells the heads apart by the weight address, so it
// needs at least two weight words per head.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module selector #(
    parameter int N_MAX = 67,        // most tokens per image
    parameter int D = 64,            // channels per token
    parameter int HEADS = 4,         // H; divides D
    parameter int SE_WIDTH = 2,      // squeeze-excite hidden width, max(1, H / 2) in a bundle
    parameter int IN_LANES = 16,     // int8 channels per s_axis beat; divides D
    parameter int LN_LANES = 8,      // layernorm lanes = in_proj SIMD
    parameter int IN_PE = 4,         // in_proj output lanes = mlp1 SIMD
    parameter int MLP_PE = 2,        // mlp2 output lanes, mlp2 / keep SIMD
    parameter int MLP1_PE = MLP_PE,  // mlp1 output lanes (its GELU's lanes); MLP_PE of them go on to mlp2
    parameter int LN_DIVIDERS = 1,   // layernorm division units (64 / LN_DIVIDERS cycles per token at most)
    parameter int DIVIDERS = 1,      // rdiv units of the global context and of the combiner; divides D / 2
    parameter int MACS_PER_DSP = 1,  // in_proj, mlp1, mlp2: int8 products per DSP48E2 (linear.sv; 2 needs their PE
                                     // lanes IN_PE, MLP1_PE, MLP_PE even)
    parameter int EPS_WIDTH = 41,    // LayerNorm E port width
    parameter int SHIFT_WIDTH = 7,   // signed shift ports
    // derived
    localparam int DH = D / HEADS
) (
    input  wire logic                          clk,
    input  wire logic                          rst,

    input  wire logic        [EPS_WIDTH-1:0]   norm_eps,
    input  wire logic signed [SHIFT_WIDTH-1:0] norm_shift,
    input  wire logic signed [SHIFT_WIDTH-1:0] in_shift,
    input  wire logic signed [SHIFT_WIDTH-1:0] mlp1_shift,
    input  wire logic signed [SHIFT_WIDTH-1:0] mlp2_shift,
    input  wire logic signed [SHIFT_WIDTH-1:0] keep_shift,
    input  wire logic signed [SHIFT_WIDTH-1:0] se1_shift,
    input  wire logic signed [SHIFT_WIDTH-1:0] se2_shift,

    input  wire logic        [127:0]           s_axis_prm_tdata,
    input  wire logic                          s_axis_prm_tvalid,
    output wire logic                          s_axis_prm_tready,
    input  wire logic                          s_axis_prm_tlast,

    input  wire logic        [IN_LANES*8-1:0]  s_axis_tdata,
    input  wire logic                          s_axis_tvalid,
    output wire logic                          s_axis_tready,
    input  wire logic                          s_axis_tlast,

    output wire logic        [15:0]            m_axis_tdata,
    output wire logic                          m_axis_tvalid,
    input  wire logic                          m_axis_tready,
    output wire logic                          m_axis_tlast
);

localparam int H = HEADS;
localparam int HS = SE_WIDTH;
localparam int UB = DH / IN_PE;                       // u beats per head
localparam int HALF = DH / 2;
localparam int CNT_WIDTH = $clog2(N_MAX + 1);
localparam int TOK_WIDTH = N_MAX > 1 ? $clog2(N_MAX) : 1;
localparam int H_WIDTH = H > 1 ? $clog2(H) : 1;
localparam int UB_WIDTH = UB > 1 ? $clog2(UB) : 1;
localparam int HC_WIDTH = $clog2(H + 1);
localparam int G_ROUNDS = D / 2 / DIVIDERS;           // rounds of DIVIDERS global-context divisions
localparam int GR_WIDTH = G_ROUNDS > 1 ? $clog2(G_ROUNDS) : 1;
localparam int CD_WIDTH = DIVIDERS > 1 ? $clog2(DIVIDERS) : 1;
// the keep layer's lanes: two weight words per head at least (see the header)
localparam int KEEP_SIMD = H > 1 && DH / 4 == MLP_PE ? (MLP_PE % 2 == 0 ? MLP_PE / 2 : 1) : MLP_PE;
// |sum_c u| <= 128 DH; |sum_j u| <= 128 N_MAX (signed, one spare bit)
localparam int ROW_WIDTH = 9 + $clog2(DH);
localparam int COL_WIDTH = 9 + $clog2(N_MAX + 1);
// (sum_h w k) << 8 < H 2**24 (signed for rdiv); sum_h w <= 255 H
localparam int NUM_WIDTH = 25 + HC_WIDTH;
localparam int DEN_WIDTH = 8 + HC_WIDTH;

if (H < 1 || D % H != 0 || DH % 4 != 0) begin : g_check_heads
    $fatal(1, "selector: HEADS (%0d) must divide D (%0d) into heads of a multiple of 4 channels", H, D);
end
if (IN_LANES < 1 || D % IN_LANES != 0 || (IN_LANES % LN_LANES != 0 && LN_LANES % IN_LANES != 0)) begin : g_check_in
    $fatal(1, "selector: IN_LANES (%0d) must divide D (%0d), and it or LN_LANES (%0d) the other", IN_LANES, D,
           LN_LANES);
end
if (LN_LANES < 1 || (LN_LANES & (LN_LANES - 1)) != 0 || DH % LN_LANES != 0) begin : g_check_ln
    $fatal(1, "selector: LN_LANES (%0d) must be a power of two dividing D / HEADS (%0d)", LN_LANES, DH);
end
if (IN_PE < 1 || HALF % IN_PE != 0) begin : g_check_in_pe
    $fatal(1, "selector: IN_PE (%0d) must divide D / HEADS / 2 (%0d)", IN_PE, HALF);
end
if (MLP_PE < 1 || (DH / 4) % MLP_PE != 0 || (H > 1 && DH / 4 < 2)) begin : g_check_mlp_pe
    $fatal(1, "selector: MLP_PE (%0d) must divide D / HEADS / 4 (%0d), which must be >= 2 with HEADS > 1", MLP_PE,
           DH / 4);
end
if (MLP1_PE < 1 || HALF % MLP1_PE != 0 || (MLP1_PE % MLP_PE != 0 && MLP_PE % MLP1_PE != 0)) begin : g_check_mlp1_pe
    $fatal(1, "selector: MLP1_PE (%0d) must divide D / HEADS / 2 (%0d), and it or MLP_PE (%0d) the other", MLP1_PE,
           HALF, MLP_PE);
end
if (DIVIDERS < 1 || (D / 2) % DIVIDERS != 0) begin : g_check_dividers
    $fatal(1, "selector: DIVIDERS (%0d) must divide D / 2 (%0d)", DIVIDERS, D / 2);
end
if (HS < 1 || N_MAX < 1) begin : g_check_misc
    $fatal(1, "selector: SE_WIDTH (%0d) and N_MAX (%0d) must be >= 1", HS, N_MAX);
end

// ---- parameter loading ---------------------------------------------------------------------------------------------
// Arrays, in stream order (index: name).
localparam int P_GAMMA = 0, P_BETA = 1, P_IN = 2, P_MLP1 = 5, P_MLP2 = 8, P_KEEP = 11, P_SE1 = 14, P_SE2 = 17;
localparam logic [19:0][23:0] P_COUNT = {
    24'd256, 24'(H), 24'(H * HS),                          // se2: table, bias, weight
    24'd256, 24'(HS), 24'(HS * H),                         // se1
    24'd256, 24'(H), 24'(H * DH / 4),                      // keep
    24'd256, 24'(H * DH / 4), 24'(H * DH / 4 * DH / 2),    // mlp2
    24'd256, 24'(H * DH / 2), 24'(H * DH / 2 * DH),        // mlp1
    24'd256, 24'(H * DH), 24'(H * DH * DH),                // in_proj
    24'(D), 24'(D)                                         // beta, gamma
};
localparam logic [19:0][5:0] P_WIDTH = {
    {6{6'd8, 6'd32, 6'd8}}, 6'd32, 6'd16
};
localparam logic [19:0] P_WORD_MODE = 20'b11;

logic [4:0]   prm_sel;
logic         prm_word_en, prm_elem_en, prm_loaded, prm_tlast_error;
logic [127:0] prm_word;
logic [23:0]  prm_index;
logic [31:0]  prm_elem;

param_unpack #(
    .NUM(20),
    .COUNT(P_COUNT),
    .WIDTH(P_WIDTH),
    .WORD_MODE(P_WORD_MODE)
) param_unpack_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_prm_tdata),
    .s_axis_tvalid(s_axis_prm_tvalid),
    .s_axis_tready(s_axis_prm_tready),
    .s_axis_tlast(s_axis_prm_tlast),
    .sel(prm_sel),
    .word_en(prm_word_en),
    .word_data(prm_word),
    .elem_en(prm_elem_en),
    .elem_index(prm_index),
    .elem_data(prm_elem),
    .loaded(prm_loaded),
    .tlast_error(prm_tlast_error)
);

// Per-layer load strobes: weight (base), bias (base + 1), table (base + 2).
function automatic logic elem_to(input logic [4:0] sel, input int arr, input logic en);
    return en && int'(sel) == arr;
endfunction

wire unused_prm = &{1'b0, prm_index[23:8], prm_elem[31:8], prm_tlast_error};

// ---- pass 1: LN -> in_proj -> GELU ---------------------------------------------------------------------------------
localparam int LN_ADDR_WIDTH = D / LN_LANES > 1 ? $clog2(D / LN_LANES) : 1;

logic [LN_LANES*8-1:0]        ln_s_tdata;
logic                         ln_s_tvalid, ln_s_tready, ln_s_tlast;
logic                         ln_param_en;
logic [LN_ADDR_WIDTH-1:0]     ln_param_addr;
logic [LN_LANES-1:0][15:0]    ln_gamma;
logic [LN_LANES-1:0][31:0]    ln_beta;
logic [LN_LANES-1:0][7:0]     ln_m_tdata;
logic                         ln_m_tvalid, ln_m_tready, ln_m_tlast;

axis_lanes #(
    .LANE_WIDTH(8),
    .IN_LANES(IN_LANES),
    .OUT_LANES(LN_LANES)
) in_lanes_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .m_axis_tdata(ln_s_tdata),
    .m_axis_tvalid(ln_s_tvalid),
    .m_axis_tready(ln_s_tready),
    .m_axis_tlast(ln_s_tlast)
);

lane_mem #(.N(D), .LANE_WIDTH(16), .RD_LANES(LN_LANES)) gamma_mem_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .wr_clear(prm_loaded),
    .wr_en(prm_word_en && int'(prm_sel) == P_GAMMA),
    .wr_data(prm_word),
    .rd_en(ln_param_en),
    .rd_addr(ln_param_addr),
    .rd_data(ln_gamma)
);

lane_mem #(.N(D), .LANE_WIDTH(32), .RD_LANES(LN_LANES)) beta_mem_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .wr_clear(prm_loaded),
    .wr_en(prm_word_en && int'(prm_sel) == P_BETA),
    .wr_data(prm_word),
    .rd_en(ln_param_en),
    .rd_addr(ln_param_addr),
    .rd_data(ln_beta)
);

layernorm #(
    .D(D),
    .PARALLEL(LN_LANES),
    .EPS_WIDTH(EPS_WIDTH),
    .SHIFT_WIDTH(SHIFT_WIDTH),
    .BUFFERS(2 * LN_DIVIDERS),
    .DIVIDERS(LN_DIVIDERS)
) layernorm_inst (
    .clk(clk),
    .rst(rst),
    .eps_term(norm_eps),
    .shift(norm_shift),
    .param_en(ln_param_en),
    .param_addr(ln_param_addr),
    .param_gamma(ln_gamma),
    .param_beta(ln_beta),
    .s_axis_tdata(ln_s_tdata),
    .s_axis_tvalid(ln_s_tvalid),
    .s_axis_tready(ln_s_tready),
    .s_axis_tlast(ln_s_tlast),
    .m_axis_tdata(ln_m_tdata),
    .m_axis_tvalid(ln_m_tvalid),
    .m_axis_tready(ln_m_tready),
    .m_axis_tlast(ln_m_tlast)
);

logic [IN_PE-1:0][7:0] inp_m_tdata;
logic                  inp_m_tvalid, inp_m_tready, inp_m_tlast;

linear_per_head #(
    .HEADS(H),
    .IN_DIM(DH),
    .OUT_DIM(DH),
    .SIMD(LN_LANES),
    .PE(IN_PE),
    .SHIFT_WIDTH(SHIFT_WIDTH),
    .MACS_PER_DSP(MACS_PER_DSP)
) in_proj_inst (
    .clk(clk),
    .rst(rst),
    .shift(in_shift),
    .s_axis_tdata(ln_m_tdata),
    .s_axis_tvalid(ln_m_tvalid),
    .s_axis_tready(ln_m_tready),
    .s_axis_tlast(ln_m_tlast),
    .m_axis_tdata(inp_m_tdata),
    .m_axis_tvalid(inp_m_tvalid),
    .m_axis_tready(inp_m_tready),
    .m_axis_tlast(inp_m_tlast),
    .w_load_valid(elem_to(prm_sel, P_IN, prm_elem_en)),
    .w_load_data(prm_elem[7:0]),
    .b_load_valid(elem_to(prm_sel, P_IN + 1, prm_elem_en)),
    .b_load_data(prm_elem)
);

logic [IN_PE-1:0][7:0] u_tdata;
logic                  u_tvalid, u_tready, u_tlast;

lut #(.PARALLEL(IN_PE)) in_act_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .tbl_wr_en(elem_to(prm_sel, P_IN + 2, prm_elem_en)),
    .tbl_wr_addr(prm_index[7:0]),
    .tbl_wr_data(prm_elem[7:0]),
    .s_axis_tdata(inp_m_tdata),
    .s_axis_tvalid(inp_m_tvalid),
    .s_axis_tready(inp_m_tready),
    .s_axis_tlast(inp_m_tlast),
    .m_axis_tdata(u_tdata),
    .m_axis_tvalid(u_tvalid),
    .m_axis_tready(u_tready),
    .m_axis_tlast(u_tlast)
);

// tlast of the internal streams: pass 1's comes with u; pass 2 counts tokens instead.
logic [13:0] spare_tlast;
wire unused_tlast = &{1'b0, spare_tlast};

// ---- image control ---------------------------------------------------------------------------------------------
typedef enum logic [1:0] {
    S_PASS1,  // taking u (the first u beat starts an image)
    S_GLOB,   // dividing the column sums by n
    S_PASS2,  // keep probabilities, head weights, scores
    S_CLEAR   // restarting the buffers and sums
} state_t;

state_t               state_reg;
logic [CNT_WIDTH-1:0] n_reg;         // tokens of the image (known at the end of pass 1)
logic                 clear;

assign clear = state_reg == S_CLEAR;

// ---- u consumer: row sums -> a (pooled), column sums, first halves -> buffer ----------------------------------------
logic [TOK_WIDTH-1:0]             u_tok_reg;
logic [H_WIDTH-1:0]               u_head_reg;
logic [UB_WIDTH-1:0]              u_beat_reg;
logic signed [ROW_WIDTH-1:0]      rowsum_reg;
logic [D/2-1:0][COL_WIDTH-1:0]    colsum_reg;

logic                             ubuf_s_tready;
logic [IN_PE*8-1:0]               ubuf_m_tdata;
logic                             ubuf_m_tvalid, ubuf_m_tready;

// pooled divider (a[j, h] = rdiv(row sum, DH)) and its result word per token
logic                             pd_start, pd_busy, pd_done, pd_pending_reg;
logic signed [ROW_WIDTH-1:0]      pd_dividend;
logic signed [7:0]                pd_quotient;
logic [H_WIDTH-1:0]               pd_head_reg;
logic [H-1:0][7:0]                pooled_reg;
logic [H-1:0][7:0]                pooled_word;

wire u_first_half = int'(u_beat_reg) < UB / 2;
wire u_head_end = int'(u_beat_reg) == UB - 1;
// A head's last beat needs the pooled divider (free, or finishing this cycle).
wire u_stall = u_head_end && pd_pending_reg && !pd_done;
assign u_tready = state_reg == S_PASS1 && !u_stall && (!u_first_half || ubuf_s_tready);
wire u_beat = u_tvalid && u_tready;

logic signed [ROW_WIDTH-1:0] u_beat_sum;
always_comb begin
    u_beat_sum = '0;
    for (int l = 0; l < IN_PE; l++) begin
        u_beat_sum = u_beat_sum + ROW_WIDTH'($signed(u_tdata[l]));
    end
    pd_dividend = (u_beat_reg == '0 ? '0 : rowsum_reg) + u_beat_sum;
    pd_start = u_beat && u_head_end;
    pooled_word = pooled_reg;
    pooled_word[pd_head_reg] = pd_quotient;
end

if ((DH & (DH - 1)) == 0) begin : g_pooled_shift
    // rdiv(n, 2^m) = floor((2 n + 2^m) / 2^(m+1)) = (n + 2^(m-1)) >>> m: one cycle, where the sequential divider's
    // Q_WIDTH cycles per head would bound pass 1 (H of them per token).
    localparam int M = $clog2(DH);
    logic                    done_reg;
    logic signed [7:0]       quot_reg;
    logic signed [ROW_WIDTH-1:0] rounded;
    assign rounded = pd_dividend + ROW_WIDTH'(DH / 2);
    always_ff @(posedge clk) begin
        done_reg <= pd_start;
        if (pd_start) begin
            quot_reg <= 8'(rounded >>> M);
        end
        if (rst) begin
            done_reg <= 1'b0;
        end
    end
    assign pd_busy = 1'b0;
    assign pd_done = done_reg;
    assign pd_quotient = quot_reg;
end else begin : g_pooled_div
    rdiv #(
        .N_WIDTH(ROW_WIDTH),
        .D_WIDTH($clog2(DH + 1)),
        .Q_WIDTH(8)
    ) pooled_div_inst (
        .clk(clk),
        .rst(rst),
        .start(pd_start),
        .dividend(pd_dividend),
        .divisor($clog2(DH + 1)'(DH)),
        .busy(pd_busy),
        .done(pd_done),
        .quotient(pd_quotient)
    );
end

logic [IN_PE * 8-1:0] ubuf_r_tdata;  // no replay
logic ubuf_r_tvalid, ubuf_r_tlast;
wire unused_ubuf_replay = &{1'b0, ubuf_r_tdata, ubuf_r_tvalid, ubuf_r_tlast};

token_buffer #(
    .WIDTH(IN_PE * 8),
    .DEPTH(N_MAX * H * UB / 2)
) ubuf_inst (
    .clk(clk),
    .rst(rst),
    .clear(clear),
    .s_axis_tdata(u_tdata),
    .s_axis_tvalid(u_tvalid && state_reg == S_PASS1 && !u_stall && u_first_half),
    .s_axis_tready(ubuf_s_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(ubuf_m_tdata),
    .m_axis_tvalid(ubuf_m_tvalid),
    .m_axis_tready(ubuf_m_tready),
    .m_axis_tlast(spare_tlast[0]),
    .m_axis_replay_tdata(ubuf_r_tdata),
    .m_axis_replay_tvalid(ubuf_r_tvalid),
    .m_axis_replay_tready(1'b0),
    .m_axis_replay_tlast(ubuf_r_tlast)
);

logic [H*8-1:0] pbuf_m_tdata;
logic           pbuf_m_tvalid, pbuf_m_tready;
logic           pbuf_s_tready;

logic [H * 8-1:0] pbuf_r_tdata;  // no replay
logic pbuf_r_tvalid, pbuf_r_tlast;
wire unused_pbuf_replay = &{1'b0, pbuf_r_tdata, pbuf_r_tvalid, pbuf_r_tlast};

token_buffer #(
    .WIDTH(H * 8),
    .DEPTH(N_MAX)
) pbuf_inst (
    .clk(clk),
    .rst(rst),
    .clear(clear),
    .s_axis_tdata(pooled_word),
    .s_axis_tvalid(pd_done && int'(pd_head_reg) == H - 1),
    .s_axis_tready(pbuf_s_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(pbuf_m_tdata),
    .m_axis_tvalid(pbuf_m_tvalid),
    .m_axis_tready(pbuf_m_tready),
    .m_axis_tlast(spare_tlast[1]),
    .m_axis_replay_tdata(pbuf_r_tdata),
    .m_axis_replay_tvalid(pbuf_r_tvalid),
    .m_axis_replay_tready(1'b0),
    .m_axis_replay_tlast(pbuf_r_tlast)
);

wire unused_div = &{1'b0, pd_busy, pbuf_s_tready};

// ---- global context: g = rdiv(column sum, n), DIVIDERS channels per round -------------------------------------------
logic                                 gd_start, gd_done, gd_pending_reg;
logic [DIVIDERS-1:0]                  gd_unit_busy, gd_unit_done;
logic [DIVIDERS-1:0][7:0]             gd_quotient;
logic [GR_WIDTH-1:0]                  g_round_reg;
logic [D/2-1:0][7:0]                  glob_reg;

assign gd_start = state_reg == S_GLOB && !gd_pending_reg;
assign gd_done = gd_unit_done[0];  // started together, the units finish together

for (genvar i = 0; i < DIVIDERS; i++) begin : g_glob_div
    rdiv #(
        .N_WIDTH(COL_WIDTH),
        .D_WIDTH(CNT_WIDTH),
        .Q_WIDTH(8)
    ) glob_div_inst (
        .clk(clk),
        .rst(rst),
        .start(gd_start),
        .dividend(colsum_reg[int'(g_round_reg) * DIVIDERS + i]),
        .divisor(n_reg),
        .busy(gd_unit_busy[i]),
        .done(gd_unit_done[i]),
        .quotient(gd_quotient[i])
    );
end

wire unused_gd = &{1'b0, gd_unit_busy, gd_unit_done};

// ---- pass 2, keep branch: features -> mlp1 -> GELU -> mlp2 -> GELU -> keep -> sigmoid -------------------------------
logic [TOK_WIDTH-1:0]  f_tok_reg;
logic [H_WIDTH-1:0]    f_head_reg;
logic [UB_WIDTH-1:0]   f_beat_reg;
logic                  f_done_reg;
logic [IN_PE*8-1:0]    f_tdata;
logic                  f_tvalid, f_tready;

wire f_from_u = int'(f_beat_reg) < UB / 2;
always_comb begin
    f_tdata = ubuf_m_tdata;
    if (!f_from_u) begin
        for (int l = 0; l < IN_PE; l++) begin
            f_tdata[8*l +: 8] = glob_reg[int'(f_head_reg) * HALF + (int'(f_beat_reg) - UB / 2) * IN_PE + l];
        end
    end
end
wire f_open = state_reg == S_PASS2 && !f_done_reg;
assign f_tvalid = f_open && (!f_from_u || ubuf_m_tvalid);
assign ubuf_m_tready = f_open && f_from_u && f_tready;
wire f_beat = f_tvalid && f_tready;

logic [MLP1_PE-1:0][7:0] m1_tdata, a1_tdata;
logic [MLP_PE-1:0][7:0] m2in_tdata, m2_tdata, a2_tdata;
logic                   m1_tvalid, m1_tready, a1_tvalid, a1_tready, m2in_tvalid, m2in_tready;
logic                   m2_tvalid, m2_tready, a2_tvalid, a2_tready;
logic [KEEP_SIMD-1:0][7:0] kin_tdata;
logic                   kin_tvalid, kin_tready;
logic [7:0]             kl_tdata, kp_tdata;
logic                   kl_tvalid, kl_tready, kp_tvalid, kp_tready;

linear_per_head #(
    .HEADS(H),
    .IN_DIM(DH),
    .OUT_DIM(DH / 2),
    .SIMD(IN_PE),
    .PE(MLP1_PE),
    .SHIFT_WIDTH(SHIFT_WIDTH),
    .MACS_PER_DSP(MACS_PER_DSP)
) mlp1_inst (
    .clk(clk),
    .rst(rst),
    .shift(mlp1_shift),
    .s_axis_tdata(f_tdata),
    .s_axis_tvalid(f_tvalid),
    .s_axis_tready(f_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(m1_tdata),
    .m_axis_tvalid(m1_tvalid),
    .m_axis_tready(m1_tready),
    .m_axis_tlast(spare_tlast[2]),
    .w_load_valid(elem_to(prm_sel, P_MLP1, prm_elem_en)),
    .w_load_data(prm_elem[7:0]),
    .b_load_valid(elem_to(prm_sel, P_MLP1 + 1, prm_elem_en)),
    .b_load_data(prm_elem)
);

lut #(.PARALLEL(MLP1_PE)) mlp1_act_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .tbl_wr_en(elem_to(prm_sel, P_MLP1 + 2, prm_elem_en)),
    .tbl_wr_addr(prm_index[7:0]),
    .tbl_wr_data(prm_elem[7:0]),
    .s_axis_tdata(m1_tdata),
    .s_axis_tvalid(m1_tvalid),
    .s_axis_tready(m1_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(a1_tdata),
    .m_axis_tvalid(a1_tvalid),
    .m_axis_tready(a1_tready),
    .m_axis_tlast(spare_tlast[3])
);

axis_lanes #(
    .LANE_WIDTH(8),
    .IN_LANES(MLP1_PE),
    .OUT_LANES(MLP_PE)
) mlp2_lanes_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(a1_tdata),
    .s_axis_tvalid(a1_tvalid),
    .s_axis_tready(a1_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(m2in_tdata),
    .m_axis_tvalid(m2in_tvalid),
    .m_axis_tready(m2in_tready),
    .m_axis_tlast(spare_tlast[13])
);

linear_per_head #(
    .HEADS(H),
    .IN_DIM(DH / 2),
    .OUT_DIM(DH / 4),
    .SIMD(MLP_PE),
    .PE(MLP_PE),
    .SHIFT_WIDTH(SHIFT_WIDTH),
    .MACS_PER_DSP(MACS_PER_DSP)
) mlp2_inst (
    .clk(clk),
    .rst(rst),
    .shift(mlp2_shift),
    .s_axis_tdata(m2in_tdata),
    .s_axis_tvalid(m2in_tvalid),
    .s_axis_tready(m2in_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(m2_tdata),
    .m_axis_tvalid(m2_tvalid),
    .m_axis_tready(m2_tready),
    .m_axis_tlast(spare_tlast[4]),
    .w_load_valid(elem_to(prm_sel, P_MLP2, prm_elem_en)),
    .w_load_data(prm_elem[7:0]),
    .b_load_valid(elem_to(prm_sel, P_MLP2 + 1, prm_elem_en)),
    .b_load_data(prm_elem)
);

lut #(.PARALLEL(MLP_PE)) mlp2_act_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .tbl_wr_en(elem_to(prm_sel, P_MLP2 + 2, prm_elem_en)),
    .tbl_wr_addr(prm_index[7:0]),
    .tbl_wr_data(prm_elem[7:0]),
    .s_axis_tdata(m2_tdata),
    .s_axis_tvalid(m2_tvalid),
    .s_axis_tready(m2_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(a2_tdata),
    .m_axis_tvalid(a2_tvalid),
    .m_axis_tready(a2_tready),
    .m_axis_tlast(spare_tlast[5])
);

axis_lanes #(
    .LANE_WIDTH(8),
    .IN_LANES(MLP_PE),
    .OUT_LANES(KEEP_SIMD)
) keep_lanes_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(a2_tdata),
    .s_axis_tvalid(a2_tvalid),
    .s_axis_tready(a2_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(kin_tdata),
    .m_axis_tvalid(kin_tvalid),
    .m_axis_tready(kin_tready),
    .m_axis_tlast(spare_tlast[12])
);

linear_per_head #(
    .HEADS(H),
    .IN_DIM(DH / 4),
    .OUT_DIM(1),
    .SIMD(KEEP_SIMD),
    .PE(1),
    .SHIFT_WIDTH(SHIFT_WIDTH)
) keep_inst (
    .clk(clk),
    .rst(rst),
    .shift(keep_shift),
    .s_axis_tdata(kin_tdata),
    .s_axis_tvalid(kin_tvalid),
    .s_axis_tready(kin_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(kl_tdata),
    .m_axis_tvalid(kl_tvalid),
    .m_axis_tready(kl_tready),
    .m_axis_tlast(spare_tlast[6]),
    .w_load_valid(elem_to(prm_sel, P_KEEP, prm_elem_en)),
    .w_load_data(prm_elem[7:0]),
    .b_load_valid(elem_to(prm_sel, P_KEEP + 1, prm_elem_en)),
    .b_load_data(prm_elem)
);

lut #(.PARALLEL(1)) keep_act_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .tbl_wr_en(elem_to(prm_sel, P_KEEP + 2, prm_elem_en)),
    .tbl_wr_addr(prm_index[7:0]),
    .tbl_wr_data(prm_elem[7:0]),
    .s_axis_tdata(kl_tdata),
    .s_axis_tvalid(kl_tvalid),
    .s_axis_tready(kl_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(kp_tdata),
    .m_axis_tvalid(kp_tvalid),
    .m_axis_tready(kp_tready),
    .m_axis_tlast(spare_tlast[7])
);

// ---- pass 2, head-weight branch: a[j] -> se1 -> GELU -> se2 -> sigmoid ---------------------------------------------
logic [HS-1:0][7:0] s1_tdata, sa_tdata;
logic               s1_tvalid, s1_tready, sa_tvalid, sa_tready;
logic [H-1:0][7:0]  s2_tdata, w_tdata;
logic               s2_tvalid, s2_tready, w_tvalid, w_tready;
logic               se_s_tready;

assign pbuf_m_tready = state_reg == S_PASS2 && se_s_tready;

linear_per_head #(
    .HEADS(1),
    .IN_DIM(H),
    .OUT_DIM(HS),
    .SIMD(H),
    .PE(HS),
    .SHIFT_WIDTH(SHIFT_WIDTH)
) se1_inst (
    .clk(clk),
    .rst(rst),
    .shift(se1_shift),
    .s_axis_tdata(pbuf_m_tdata),
    .s_axis_tvalid(state_reg == S_PASS2 && pbuf_m_tvalid),
    .s_axis_tready(se_s_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(s1_tdata),
    .m_axis_tvalid(s1_tvalid),
    .m_axis_tready(s1_tready),
    .m_axis_tlast(spare_tlast[8]),
    .w_load_valid(elem_to(prm_sel, P_SE1, prm_elem_en)),
    .w_load_data(prm_elem[7:0]),
    .b_load_valid(elem_to(prm_sel, P_SE1 + 1, prm_elem_en)),
    .b_load_data(prm_elem)
);

lut #(.PARALLEL(HS)) se1_act_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .tbl_wr_en(elem_to(prm_sel, P_SE1 + 2, prm_elem_en)),
    .tbl_wr_addr(prm_index[7:0]),
    .tbl_wr_data(prm_elem[7:0]),
    .s_axis_tdata(s1_tdata),
    .s_axis_tvalid(s1_tvalid),
    .s_axis_tready(s1_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(sa_tdata),
    .m_axis_tvalid(sa_tvalid),
    .m_axis_tready(sa_tready),
    .m_axis_tlast(spare_tlast[9])
);

linear_per_head #(
    .HEADS(1),
    .IN_DIM(HS),
    .OUT_DIM(H),
    .SIMD(HS),
    .PE(H),
    .SHIFT_WIDTH(SHIFT_WIDTH)
) se2_inst (
    .clk(clk),
    .rst(rst),
    .shift(se2_shift),
    .s_axis_tdata(sa_tdata),
    .s_axis_tvalid(sa_tvalid),
    .s_axis_tready(sa_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(s2_tdata),
    .m_axis_tvalid(s2_tvalid),
    .m_axis_tready(s2_tready),
    .m_axis_tlast(spare_tlast[10]),
    .w_load_valid(elem_to(prm_sel, P_SE2, prm_elem_en)),
    .w_load_data(prm_elem[7:0]),
    .b_load_valid(elem_to(prm_sel, P_SE2 + 1, prm_elem_en)),
    .b_load_data(prm_elem)
);

lut #(.PARALLEL(H)) se2_act_inst (
    .clk(clk),
    .rst(rst),
    .wr_set(1'b0),
    .rd_set(1'b0),
    .tbl_wr_en(elem_to(prm_sel, P_SE2 + 2, prm_elem_en)),
    .tbl_wr_addr(prm_index[7:0]),
    .tbl_wr_data(prm_elem[7:0]),
    .s_axis_tdata(s2_tdata),
    .s_axis_tvalid(s2_tvalid),
    .s_axis_tready(s2_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(w_tdata),
    .m_axis_tvalid(w_tvalid),
    .m_axis_tready(w_tready),
    .m_axis_tlast(spare_tlast[11])
);

// ---- combiner: score_j = rdiv((sum_h w k) << 8, max(sum_h w, 1)) ----------------------------------------------------
logic [H-1:0][7:0]     k_reg;        // keep probabilities of the token being collected
logic [HC_WIDTH-1:0]   k_cnt_reg;
logic [H-1:0][7:0]     w_reg;
logic                  w_have_reg;
// DIVIDERS rdiv units take the tokens in turn; they finish in the order they started, and the output register takes
// their results in that order.
logic                  cd_go, o_load;
logic [DIVIDERS-1:0]   cd_start, cd_busy, cd_done;
logic [DIVIDERS-1:0]   cd_pending_reg;  // started, result not yet taken by the output register
logic [DIVIDERS-1:0]   cd_ready_reg;    // result valid, waiting for the output register
logic [CD_WIDTH-1:0]   cd_in_reg, cd_out_reg;  // the unit to start next, the unit whose result comes out next
logic signed [NUM_WIDTH-1:0] cd_num;
logic [DEN_WIDTH-1:0]  cd_den;
logic [DIVIDERS-1:0][16:0] cd_quotient;
logic [TOK_WIDTH-1:0]  o_tok_reg;       // scores taken into the output register
logic [15:0]           o_data_reg;
logic                  o_valid_reg, o_last_reg;

assign kp_tready = k_cnt_reg != HC_WIDTH'(H);
assign w_tready = !w_have_reg;

always_comb begin
    cd_num = '0;
    cd_den = '0;
    for (int h = 0; h < H; h++) begin
        cd_num = cd_num + NUM_WIDTH'(16'(w_reg[h]) * 16'(k_reg[h]));
        cd_den = cd_den + DEN_WIDTH'(w_reg[h]);
    end
    cd_num = cd_num <<< 8;
    if (cd_den == '0) begin
        cd_den = DEN_WIDTH'(1);
    end
end
assign cd_go = k_cnt_reg == HC_WIDTH'(H) && w_have_reg && !cd_pending_reg[cd_in_reg];

wire o_beat = o_valid_reg && m_axis_tready;
assign o_load = cd_ready_reg[cd_out_reg] && (!o_valid_reg || o_beat);

for (genvar i = 0; i < DIVIDERS; i++) begin : g_score_div
    assign cd_start[i] = cd_go && int'(cd_in_reg) == i;
    rdiv #(
        .N_WIDTH(NUM_WIDTH),
        .D_WIDTH(DEN_WIDTH),
        .Q_WIDTH(17)
    ) score_div_inst (
        .clk(clk),
        .rst(rst),
        .start(cd_start[i]),
        .dividend(cd_num),
        .divisor(cd_den),
        .busy(cd_busy[i]),
        .done(cd_done[i]),
        .quotient(cd_quotient[i])
    );
end

wire unused_cd = &{1'b0, cd_busy, cd_quotient};

assign m_axis_tdata = o_data_reg;
assign m_axis_tvalid = o_valid_reg;
assign m_axis_tlast = o_last_reg;

// ---- sequential logic --------------------------------------------------------------------------------------------
always_ff @(posedge clk) begin
    // u consumer
    if (u_beat) begin
        rowsum_reg <= pd_dividend;
        if (!u_first_half) begin
            for (int l = 0; l < IN_PE; l++) begin
                colsum_reg[int'(u_head_reg) * HALF + (int'(u_beat_reg) - UB / 2) * IN_PE + l] <=
                    colsum_reg[int'(u_head_reg) * HALF + (int'(u_beat_reg) - UB / 2) * IN_PE + l]
                    + COL_WIDTH'($signed(u_tdata[l]));
            end
        end
        u_beat_reg <= u_head_end ? '0 : u_beat_reg + 1'b1;
        if (u_head_end) begin
            pd_pending_reg <= 1'b1;
            pd_head_reg <= u_head_reg;
            u_head_reg <= int'(u_head_reg) == H - 1 ? '0 : u_head_reg + 1'b1;
            if (int'(u_head_reg) == H - 1) begin
                u_tok_reg <= u_tok_reg + 1'b1;
            end
        end
        if (u_tlast) begin
            n_reg <= CNT_WIDTH'(u_tok_reg) + 1'b1;
            state_reg <= S_GLOB;
        end
    end
    if (pd_done) begin
        pooled_reg <= pooled_word;
        if (!pd_start) begin
            pd_pending_reg <= 1'b0;
        end
    end

    // global context
    if (gd_start) begin
        gd_pending_reg <= 1'b1;
    end
    if (gd_done) begin
        gd_pending_reg <= 1'b0;
        for (int i = 0; i < DIVIDERS; i++) begin
            glob_reg[int'(g_round_reg) * DIVIDERS + i] <= gd_quotient[i];
        end
        g_round_reg <= g_round_reg + 1'b1;
        if (int'(g_round_reg) == G_ROUNDS - 1) begin
            state_reg <= S_PASS2;
        end
    end

    // features
    if (f_beat) begin
        f_beat_reg <= int'(f_beat_reg) == UB - 1 ? '0 : f_beat_reg + 1'b1;
        if (int'(f_beat_reg) == UB - 1) begin
            f_head_reg <= int'(f_head_reg) == H - 1 ? '0 : f_head_reg + 1'b1;
            if (int'(f_head_reg) == H - 1) begin
                f_tok_reg <= f_tok_reg + 1'b1;
                if (CNT_WIDTH'(f_tok_reg) + 1'b1 == n_reg) begin
                    f_done_reg <= 1'b1;
                end
            end
        end
    end

    // combiner
    if (kp_tvalid && kp_tready) begin
        k_reg[k_cnt_reg[H_WIDTH-1:0]] <= kp_tdata;
        k_cnt_reg <= k_cnt_reg + 1'b1;
    end
    if (w_tvalid && w_tready) begin
        w_reg <= w_tdata;
        w_have_reg <= 1'b1;
    end
    if (cd_go) begin
        k_cnt_reg <= '0;
        w_have_reg <= 1'b0;
        cd_in_reg <= int'(cd_in_reg) == DIVIDERS - 1 ? '0 : cd_in_reg + 1'b1;
    end
    for (int i = 0; i < DIVIDERS; i++) begin
        if (cd_start[i]) begin
            cd_pending_reg[i] <= 1'b1;
        end
        if (cd_done[i]) begin
            cd_ready_reg[i] <= 1'b1;
        end
    end
    if (o_beat) begin
        o_valid_reg <= 1'b0;
        if (o_last_reg) begin
            state_reg <= S_CLEAR;
        end
    end
    if (o_load) begin
        cd_pending_reg[cd_out_reg] <= 1'b0;
        cd_ready_reg[cd_out_reg] <= 1'b0;
        cd_out_reg <= int'(cd_out_reg) == DIVIDERS - 1 ? '0 : cd_out_reg + 1'b1;
        o_valid_reg <= 1'b1;
        o_data_reg <= cd_quotient[cd_out_reg][15:0];
        o_last_reg <= CNT_WIDTH'(o_tok_reg) + 1'b1 == n_reg;
        o_tok_reg <= o_tok_reg + 1'b1;
    end

    if (clear) begin
        state_reg <= S_PASS1;
        u_tok_reg <= '0;
        u_head_reg <= '0;
        u_beat_reg <= '0;
        colsum_reg <= '0;
        g_round_reg <= '0;
        f_tok_reg <= '0;
        f_head_reg <= '0;
        f_beat_reg <= '0;
        f_done_reg <= 1'b0;
        o_tok_reg <= '0;
    end

    if (rst) begin
        state_reg <= S_CLEAR;
        n_reg <= CNT_WIDTH'(1);
        pd_pending_reg <= 1'b0;
        gd_pending_reg <= 1'b0;
        k_cnt_reg <= '0;
        w_have_reg <= 1'b0;
        cd_pending_reg <= '0;
        cd_ready_reg <= '0;
        cd_in_reg <= '0;
        cd_out_reg <= '0;
        o_valid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && u_beat) begin
        assert (!u_tlast || (u_head_end && int'(u_head_reg) == H - 1))
        else $error("selector: tlast inside a token");
        assert (u_tlast || !(u_head_end && int'(u_head_reg) == H - 1) || int'(u_tok_reg) < N_MAX - 1)
        else $error("selector: more than N_MAX (%0d) tokens in an image", N_MAX);
    end
end
`endif

endmodule : selector

`resetall
