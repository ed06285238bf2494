// Pruning stage IP core: the tokens of one image and their keep scores in, the next (shorter) sequence out with the
// source index of every emitted token; run-time parameters and an ap_ctrl_hs-style start/done over AXI4-Lite.
//
// Contract: docs/arithmetic.md §11.3 (prune_stage), composed from §9 topk_select (hw/rtl/topk_select.sv) and §10
// token_pack (hw/rtl/token_pack.sv), with scores from a stream (SCORER = 0), from §8.2 (hw/rtl/selector.sv inside,
// SCORER = 1: SPViT) or from §8.1 (hw/rtl/asvit_score.sv inside, SCORER = 2: Adaptive Sparse ViT). Golden model
// spvit.sim.golden.model.prune_stage, HLS twin prune_stage in hw/hls/encoder_block.hpp. Bit-exact: the next sequence is
//   [class token] + [kept candidates, original order] + [earlier package tokens] + [this stage's package token]
// (the package token only when `package` is set), and tokens present in the input keep their order.
//
// Streams (one image per run, n tokens; a token is D int8 channels over BEATS = D / LANES beats, channel c in lane
// c % LANES of beat c / LANES, lane l at bits [8 l +: 8]):
//   s_axis        the n input tokens; tlast expected on the last beat of token n - 1 (a misplaced tlast sets STATUS
//                 bit 1; the frame length is n from the register either way).
//   s_axis_score  SCORER = 0: the n uint16 scores in token order, tlast expected on score n - 1 (else STATUS bit 2).
//                 SCORER = 1, 2: unused (tie tvalid low); with SCORER = 1 the selector scores the tokens of s_axis.
//   s_axis_ctx,   SCORER = 2: the attention's class-token context per head (H beats of D/H int8 lanes, tlast on the
//   s_axis_p16    last) and class-attention rows (H rows of n uint16, tlast ending each row): asvit_score.sv's inputs,
//                 as encoder_block.sv's m_axis_cls_ctx / m_axis_cls_p16 send them. Unused otherwise.
//   m_axis        the n_out output tokens, tlast on the last beat of the last one; m_axis_tuser = the source index of
//                 the token on every one of its beats: its index in the input (0 .. n-1), or n for the package token
//                 (the host maps them to token ids as sim/hls_backend.py does: package id = -1 - stage).
//   s_axis_prm    SCORER = 1: the selector's parameters (selector.sv: 128-bit words in the HLS m_axi layout); load
//                 them while idle. Unused otherwise.
//
// AXI4-Lite register map (32-bit registers; sim/prune_regs.py holds the same map as PRUNE_REGS):
//   0x00 CTRL       bit 0 ap_start (RW; cleared at ap_ready unless auto_restart), bit 1 ap_done (RO, clear on read),
//                   bit 2 ap_idle (RO), bit 3 ap_ready (RO, clear on read), bit 7 auto_restart (RW)
//   0x04 GIE        bit 0 global interrupt enable
//   0x08 IER        bit 0 ap_done, bit 1 ap_ready interrupt enables
//   0x0C ISR        bit 0 ap_done, bit 1 ap_ready interrupt status (write 1 toggles); irq = GIE && |ISR
//   0x10 N          tokens present, 1 .. N_MAX
//   0x18 TAIL       n_protected_tail: package tokens of earlier stages (the last TAIL tokens), 0 .. TAIL_MAX
//   0x20 K          keep at most k candidates (any value: 0 keeps none, >= the candidate count keeps all)
//   0x28 THR_MODE   bit 0: threshold mode (also require score >= THRESHOLD)
//   0x30 THRESHOLD  uint16 at frac 16
//   0x38 PACKAGE    bit 0: append the package token (0: hard pruning)
//   0x40 N_OUT      (RO) tokens emitted by the last run
//   0x48 N_KEPT     (RO) candidates kept by the last run
//   0x50 STATUS     (RO) of the last run: bit 0 registers out of range (the run did nothing), bit 1 s_axis tlast
//                   misplaced, bit 2 score tlast misplaced (s_axis_score; SCORER = 2: p16 rows not N long)
//   SCORER = 1 only (the selector's quasi-static inputs, see selector.sv):
//   0x58 SEL_EPS_LO, 0x5C SEL_EPS_HI   LayerNorm E (bits 31:0 and 40:32)
//   0x60 SEL_SHIFTS_0   signed bytes: [7:0] norm, [15:8] in_proj, [23:16] mlp1, [31:24] mlp2
//   0x64 SEL_SHIFTS_1   signed bytes: [7:0] keep, [15:8] se1, [23:16] se2
// A run: write the parameters, set ap_start; the core samples N .. PACKAGE at the start, takes the n tokens (and n
// scores), streams the output and raises ap_done and ap_ready together when the last output beat has left. Out-of-
// range registers (N = 0 or > N_MAX, TAIL > TAIL_MAX) finish the run at once with STATUS bit 0 and N_OUT = 0.
//
// Hardware: the input tokens go to a token buffer (token_buffer.sv, N_MAX * BEATS words) and, with SCORER = 1, to the
// selector at the same time (SCORER = 2: asvit_score turns the class rows into scores meanwhile); the scores go to
// topk_select and to an N_MAX-entry score memory. topk_select answers with one keep bit per token in order after the
// last score; each decision is joined with the token's beats read back from the buffer and its score, and token_pack
// passes the staying tokens on and forms the package token.
// Cycles per run, at full rate: n * BEATS in, topk_select's n + 3, n * BEATS through token_pack, then (package) its
// D / DIVIDERS rdiv rounds and BEATS beats of package token; with SCORER = 1 the selector's time comes in between.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module prune_stage #(
    parameter int N_MAX = 67,        // most tokens per image
    parameter int D = 64,            // channels per token
    parameter int LANES = 16,        // int8 channels per stream beat (16: 128-bit beats, the HLS IP's width)
    parameter int K_MAX = N_MAX,     // topk_select network length: exact for every k when >= N_MAX - 1
    parameter int TAIL_MAX = 2,      // most protected package tokens (stages before this one)
    parameter int DIVIDERS = 8,      // token_pack's parallel rdiv units; divides D
    parameter int SCORER = 0,        // 0: scores on s_axis_score; 1: SPViT selector.sv inside; 2: asvit_score.sv inside
    parameter int HEADS = 4,         // attention heads (SCORER = 1, 2); divides D
    // the selector's configuration (SCORER = 1), see selector.sv
    parameter int SEL_SE_WIDTH = 2,
    parameter int SEL_LN_LANES = 8,
    parameter int SEL_IN_PE = 4,
    parameter int SEL_MLP_PE = 2,
    parameter int SEL_MLP1_PE = SEL_MLP_PE,
    parameter int SEL_LN_DIVIDERS = 1,
    parameter int SEL_DIVIDERS = 1,  // the selector's rdiv units (global context, combiner); divides D / 2
    parameter int SEL_MACS_PER_DSP = 1, // the selector's in_proj / mlp1 / mlp2: int8 products per DSP48E2
    parameter int ASVIT_DIVIDERS = 1,   // asvit_score's rdiv units (SCORER = 2)
    // derived
    localparam int IDX_WIDTH = N_MAX > 1 ? $clog2(N_MAX) : 1,
    localparam int CNT_WIDTH = $clog2(N_MAX + 1),
    localparam int AXIL_ADDR_WIDTH = 8
) (
    input  wire logic                        clk,
    input  wire logic                        rst,

    // AXI4-Lite control slave
    input  wire logic [AXIL_ADDR_WIDTH-1:0]  s_axil_awaddr,
    input  wire logic [2:0]                  s_axil_awprot,
    input  wire logic                        s_axil_awvalid,
    output wire logic                        s_axil_awready,
    input  wire logic [31:0]                 s_axil_wdata,
    input  wire logic [3:0]                  s_axil_wstrb,
    input  wire logic                        s_axil_wvalid,
    output wire logic                        s_axil_wready,
    output wire logic [1:0]                  s_axil_bresp,
    output wire logic                        s_axil_bvalid,
    input  wire logic                        s_axil_bready,
    input  wire logic [AXIL_ADDR_WIDTH-1:0]  s_axil_araddr,
    input  wire logic [2:0]                  s_axil_arprot,
    input  wire logic                        s_axil_arvalid,
    output wire logic                        s_axil_arready,
    output wire logic [31:0]                 s_axil_rdata,
    output wire logic [1:0]                  s_axil_rresp,
    output wire logic                        s_axil_rvalid,
    input  wire logic                        s_axil_rready,
    output wire logic                        irq,

    // input tokens
    input  wire logic [LANES*8-1:0]          s_axis_tdata,
    input  wire logic                        s_axis_tvalid,
    output wire logic                        s_axis_tready,
    input  wire logic                        s_axis_tlast,

    // input scores (SCORER = 0)
    input  wire logic [15:0]                 s_axis_score_tdata,
    input  wire logic                        s_axis_score_tvalid,
    output wire logic                        s_axis_score_tready,
    input  wire logic                        s_axis_score_tlast,

    // class-token context and class-attention rows (SCORER = 2)
    input  wire logic [(D/HEADS)*8-1:0]      s_axis_ctx_tdata,
    input  wire logic                        s_axis_ctx_tvalid,
    output wire logic                        s_axis_ctx_tready,
    input  wire logic                        s_axis_ctx_tlast,
    input  wire logic [15:0]                 s_axis_p16_tdata,
    input  wire logic                        s_axis_p16_tvalid,
    output wire logic                        s_axis_p16_tready,
    input  wire logic                        s_axis_p16_tlast,

    // selector parameters (SCORER = 1)
    input  wire logic [127:0]                s_axis_prm_tdata,
    input  wire logic                        s_axis_prm_tvalid,
    output wire logic                        s_axis_prm_tready,
    input  wire logic                        s_axis_prm_tlast,

    // output tokens
    output wire logic [LANES*8-1:0]          m_axis_tdata,
    output wire logic                        m_axis_tvalid,
    input  wire logic                        m_axis_tready,
    output wire logic                        m_axis_tlast,
    output wire logic [CNT_WIDTH-1:0]        m_axis_tuser    // source index (n: the package token)
);

localparam int BEATS = D / LANES;
localparam int BEAT_WIDTH = BEATS > 1 ? $clog2(BEATS) : 1;
localparam int KC_WIDTH = $clog2(K_MAX + 1);

if (N_MAX < 1 || N_MAX > 65535) begin : g_check_n
    $fatal(1, "prune_stage: N_MAX (%0d) must be in [1, 65535]", N_MAX);
end
if (LANES < 1 || D % LANES != 0) begin : g_check_lanes
    $fatal(1, "prune_stage: LANES (%0d) must divide D (%0d)", LANES, D);
end
if (SCORER < 0 || SCORER > 2) begin : g_check_scorer
    $fatal(1, "prune_stage: SCORER (%0d) must be 0 (score stream), 1 (selector) or 2 (asvit_score)", SCORER);
end
if (HEADS < 1 || D % HEADS != 0) begin : g_check_heads
    $fatal(1, "prune_stage: HEADS (%0d) must divide D (%0d)", HEADS, D);
end

// ---- AXI4-Lite registers -----------------------------------------------------------------------------------------
localparam logic [AXIL_ADDR_WIDTH-1:0] A_CTRL = 8'h00, A_GIE = 8'h04, A_IER = 8'h08, A_ISR = 8'h0C,
    A_N = 8'h10, A_TAIL = 8'h18, A_K = 8'h20, A_THR_MODE = 8'h28, A_THRESHOLD = 8'h30, A_PACKAGE = 8'h38,
    A_N_OUT = 8'h40, A_N_KEPT = 8'h48, A_STATUS = 8'h50, A_SEL_EPS_LO = 8'h58, A_SEL_EPS_HI = 8'h5C,
    A_SEL_SHIFTS_0 = 8'h60, A_SEL_SHIFTS_1 = 8'h64;

logic [AXIL_ADDR_WIDTH-1:0] reg_wr_addr, reg_rd_addr;
logic [31:0]                reg_wr_data, reg_rd_data;
logic [3:0]                 reg_wr_strb;
logic                       reg_wr_en, reg_rd_en;

axil_reg_if #(
    .ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .DATA_WIDTH(32)
) axil_reg_if_inst (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .reg_wr_addr(reg_wr_addr),
    .reg_wr_data(reg_wr_data),
    .reg_wr_strb(reg_wr_strb),
    .reg_wr_en(reg_wr_en),
    .reg_rd_addr(reg_rd_addr),
    .reg_rd_en(reg_rd_en),
    .reg_rd_data(reg_rd_data)
);

// Host-written registers (byte strobes honoured).
logic [31:0] r_n_reg, r_tail_reg, r_k_reg, r_thr_mode_reg, r_threshold_reg, r_package_reg;
logic [31:0] r_eps_lo_reg, r_eps_hi_reg, r_shifts0_reg, r_shifts1_reg;
logic        ap_start_reg, ap_done_reg, ap_ready_reg, auto_restart_reg, gie_reg;
logic [1:0]  ier_reg, isr_reg;
// Results of the last run.
logic [CNT_WIDTH-1:0] n_out_reg;
logic [KC_WIDTH-1:0]  n_kept_reg;
logic [2:0]           status_reg;

function automatic logic [31:0] strobed(input logic [31:0] old, input logic [31:0] data, input logic [3:0] strb);
    logic [31:0] r;
    for (int b = 0; b < 4; b++) begin
        r[8*b +: 8] = strb[b] ? data[8*b +: 8] : old[8*b +: 8];
    end
    return r;
endfunction

// ---- run control ---------------------------------------------------------------------------------------------------
typedef enum logic [1:0] {
    S_IDLE,   // waiting for ap_start
    S_CHECK,  // registers sampled: refuse or start
    S_RUN     // streaming
} state_t;

state_t                state_reg;
logic [CNT_WIDTH-1:0]  n_reg;          // the run's registers
logic [CNT_WIDTH-1:0]  tail_reg;
logic [CNT_WIDTH-1:0]  k_reg;
logic                  thr_mode_reg;
logic [15:0]           thr_reg;
logic                  package_reg;
logic                  regs_bad_reg;   // sampled registers out of range
logic                  finish;         // the run ends this cycle (ap_done, ap_ready)
logic                  clear;          // a run starts: restart the token buffer and the counters

// Input side.
logic [IDX_WIDTH-1:0]  in_tok_reg;
logic [BEAT_WIDTH-1:0] in_beat_reg;
logic                  in_done_reg;    // all n tokens taken
logic [IDX_WIDTH-1:0]  sc_cnt_reg;
logic                  sc_done_reg;    // all n scores taken
logic                  tlast_err_reg, score_err_reg;
// Output side.
logic [CNT_WIDTH-1:0]  out_tok_reg;
logic [BEAT_WIDTH-1:0] out_beat_reg;
logic [BEAT_WIDTH-1:0] join_beat_reg;  // beat of the token entering token_pack

wire running = state_reg == S_RUN;
assign clear = state_reg == S_CHECK && !regs_bad_reg;

// ---- token path ----------------------------------------------------------------------------------------------------
wire in_last_beat = in_beat_reg == BEAT_WIDTH'(BEATS - 1);
wire in_frame_last = in_last_beat && CNT_WIDTH'(in_tok_reg) + 1'b1 == n_reg;

logic                 tb_s_tready;
logic [LANES*8-1:0]   tb_m_tdata;
logic                 tb_m_tvalid, tb_m_tready, tb_m_tlast;
logic                 sel_s_tready;  // 1 when there is no selector
wire                  in_open = running && !in_done_reg;
wire                  in_beat = in_open && s_axis_tvalid && tb_s_tready && sel_s_tready;

assign s_axis_tready = in_open && tb_s_tready && sel_s_tready;

logic [LANES * 8-1:0] tb_r_tdata;  // no replay
logic tb_r_tvalid, tb_r_tlast;
wire unused_tb_replay = &{1'b0, tb_r_tdata, tb_r_tvalid, tb_r_tlast};

token_buffer #(
    .WIDTH(LANES * 8),
    .DEPTH(N_MAX * BEATS)
) token_buffer_inst (
    .clk(clk),
    .rst(rst),
    .clear(clear),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(in_open && s_axis_tvalid && sel_s_tready),
    .s_axis_tready(tb_s_tready),
    .s_axis_tlast(in_frame_last),
    .m_axis_tdata(tb_m_tdata),
    .m_axis_tvalid(tb_m_tvalid),
    .m_axis_tready(tb_m_tready),
    .m_axis_tlast(tb_m_tlast),
    .m_axis_replay_tdata(tb_r_tdata),
    .m_axis_replay_tvalid(tb_r_tvalid),
    .m_axis_replay_tready(1'b0),
    .m_axis_replay_tlast(tb_r_tlast)
);

// ---- score path: the stream or the selector --------------------------------------------------------------------
logic [15:0] sc_tdata;
logic        sc_tvalid, sc_tready, sc_tlast;

if (SCORER == 1) begin : g_selector
    logic [40:0] sel_eps;
    assign sel_eps = {r_eps_hi_reg[8:0], r_eps_lo_reg};

    selector #(
        .N_MAX(N_MAX),
        .D(D),
        .HEADS(HEADS),
        .SE_WIDTH(SEL_SE_WIDTH),
        .IN_LANES(LANES),
        .LN_LANES(SEL_LN_LANES),
        .IN_PE(SEL_IN_PE),
        .MLP_PE(SEL_MLP_PE),
        .MLP1_PE(SEL_MLP1_PE),
        .LN_DIVIDERS(SEL_LN_DIVIDERS),
        .DIVIDERS(SEL_DIVIDERS),
        .MACS_PER_DSP(SEL_MACS_PER_DSP)
    ) selector_inst (
        .clk(clk),
        .rst(rst),
        .norm_eps(sel_eps),
        .norm_shift(r_shifts0_reg[6:0]),
        .in_shift(r_shifts0_reg[14:8]),
        .mlp1_shift(r_shifts0_reg[22:16]),
        .mlp2_shift(r_shifts0_reg[30:24]),
        .keep_shift(r_shifts1_reg[6:0]),
        .se1_shift(r_shifts1_reg[14:8]),
        .se2_shift(r_shifts1_reg[22:16]),
        .s_axis_prm_tdata(s_axis_prm_tdata),
        .s_axis_prm_tvalid(s_axis_prm_tvalid),
        .s_axis_prm_tready(s_axis_prm_tready),
        .s_axis_prm_tlast(s_axis_prm_tlast),
        .s_axis_tdata(s_axis_tdata),
        .s_axis_tvalid(in_open && s_axis_tvalid && tb_s_tready),
        .s_axis_tready(sel_s_tready),
        .s_axis_tlast(in_frame_last),
        .m_axis_tdata(sc_tdata),
        .m_axis_tvalid(sc_tvalid),
        .m_axis_tready(sc_tready),
        .m_axis_tlast(sc_tlast)
    );
    assign s_axis_score_tready = 1'b0;
    assign s_axis_ctx_tready = 1'b0;
    assign s_axis_p16_tready = 1'b0;
    wire unused_score = &{1'b0, s_axis_score_tdata, s_axis_score_tvalid, s_axis_score_tlast, r_shifts0_reg[31],
                          r_shifts0_reg[23], r_shifts0_reg[15], r_shifts0_reg[7], r_shifts1_reg[31:23],
                          r_shifts1_reg[15], r_shifts1_reg[7], r_eps_hi_reg[31:9], 32'(ASVIT_DIVIDERS),
                          s_axis_ctx_tdata,
                          s_axis_ctx_tvalid, s_axis_ctx_tlast, s_axis_p16_tdata, s_axis_p16_tvalid, s_axis_p16_tlast};
end else if (SCORER == 2) begin : g_asvit
    // The class rows may arrive before, during or after the tokens; asvit_score holds them and sends the n scores
    // once both inputs of the image are complete.
    asvit_score #(
        .N_MAX(N_MAX),
        .DH(D / HEADS),
        .H(HEADS),
        .DIVIDERS(ASVIT_DIVIDERS)
    ) asvit_score_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_ctx_tdata(s_axis_ctx_tdata),
        .s_axis_ctx_tvalid(s_axis_ctx_tvalid),
        .s_axis_ctx_tready(s_axis_ctx_tready),
        .s_axis_ctx_tlast(s_axis_ctx_tlast),
        .s_axis_p16_tdata(s_axis_p16_tdata),
        .s_axis_p16_tvalid(s_axis_p16_tvalid),
        .s_axis_p16_tready(s_axis_p16_tready),
        .s_axis_p16_tlast(s_axis_p16_tlast),
        .m_axis_tdata(sc_tdata),
        .m_axis_tvalid(sc_tvalid),
        .m_axis_tready(sc_tready),
        .m_axis_tlast(sc_tlast)
    );
    assign sel_s_tready = 1'b1;
    assign s_axis_score_tready = 1'b0;
    assign s_axis_prm_tready = 1'b0;
    wire unused_asvit = &{1'b0, s_axis_score_tdata, s_axis_score_tvalid, s_axis_score_tlast, s_axis_prm_tdata,
                          s_axis_prm_tvalid, s_axis_prm_tlast, r_eps_lo_reg, r_eps_hi_reg, r_shifts0_reg,
                          r_shifts1_reg, 32'(SEL_SE_WIDTH), 32'(SEL_LN_LANES), 32'(SEL_IN_PE), 32'(SEL_MLP_PE),
                          32'(SEL_MLP1_PE), 32'(SEL_LN_DIVIDERS), 32'(SEL_DIVIDERS), 32'(SEL_MACS_PER_DSP)};
end else begin : g_stream
    assign sel_s_tready = 1'b1;
    assign sc_tdata = s_axis_score_tdata;
    assign sc_tvalid = s_axis_score_tvalid;
    assign sc_tlast = s_axis_score_tlast;
    assign s_axis_score_tready = sc_tready;
    assign s_axis_prm_tready = 1'b0;
    assign s_axis_ctx_tready = 1'b0;
    assign s_axis_p16_tready = 1'b0;
    wire unused_sel = &{1'b0, s_axis_prm_tdata, s_axis_prm_tvalid, s_axis_prm_tlast, r_eps_lo_reg, r_eps_hi_reg,
                        r_shifts0_reg, r_shifts1_reg, 32'(SEL_SE_WIDTH), 32'(SEL_LN_LANES), 32'(SEL_IN_PE),
                        32'(SEL_MLP_PE), 32'(SEL_MLP1_PE), 32'(SEL_LN_DIVIDERS), 32'(SEL_DIVIDERS),
                        32'(SEL_MACS_PER_DSP), 32'(ASVIT_DIVIDERS),
                        s_axis_ctx_tdata,
                        s_axis_ctx_tvalid, s_axis_ctx_tlast,
                        s_axis_p16_tdata, s_axis_p16_tvalid, s_axis_p16_tlast};
end

// The scores of the run: to topk_select and to the score memory (read back for token_pack's weights).
wire sc_frame_last = CNT_WIDTH'(sc_cnt_reg) + 1'b1 == n_reg;
wire sc_open = running && !sc_done_reg;
logic tk_s_tready;
wire sc_beat = sc_open && sc_tvalid && tk_s_tready;
assign sc_tready = sc_open && tk_s_tready;

logic [15:0] score_mem [N_MAX];
always_ff @(posedge clk) begin
    if (sc_beat) begin
        score_mem[sc_cnt_reg] <= sc_tdata;
    end
end

logic [IDX_WIDTH:0]  tk_m_tdata;   // {keep, index}
logic                tk_m_tvalid, tk_m_tready, tk_m_tlast;
logic [KC_WIDTH:0]   tk_m_tuser;   // {kept count, candidate}

topk_select #(
    .N_MAX(N_MAX),
    .K_MAX(K_MAX),
    .TAIL_MAX(TAIL_MAX),
    .SCORE_WIDTH(16)
) topk_select_inst (
    .clk(clk),
    .rst(rst),
    .k(k_reg),
    .n_protected_tail(tail_reg),
    .threshold_en(thr_mode_reg),
    .threshold(thr_reg),
    .s_axis_tdata(sc_tdata),
    .s_axis_tvalid(sc_open && sc_tvalid),
    .s_axis_tready(tk_s_tready),
    .s_axis_tlast(sc_frame_last),
    .m_axis_tdata(tk_m_tdata),
    .m_axis_tvalid(tk_m_tvalid),
    .m_axis_tready(tk_m_tready),
    .m_axis_tlast(tk_m_tlast),
    .m_axis_tuser(tk_m_tuser)
);

// ---- join: a decision with its token's beats and score, into token_pack -------------------------------------------
logic               tp_s_tready;
logic [LANES*8-1:0] tp_m_tdata;
logic               tp_m_tvalid, tp_m_tlast;
logic [IDX_WIDTH:0] tp_m_tuser;    // {package, source}

wire join_last_beat = join_beat_reg == BEAT_WIDTH'(BEATS - 1);
wire join_valid = tb_m_tvalid && tk_m_tvalid;
wire join_beat = join_valid && tp_s_tready;
assign tb_m_tready = tp_s_tready && tk_m_tvalid;
assign tk_m_tready = tp_s_tready && tb_m_tvalid && join_last_beat;

token_pack #(
    .N_MAX(N_MAX),
    .D(D),
    .PARALLEL(LANES),
    .DIVIDERS(DIVIDERS),
    .SCORE_WIDTH(16)
) token_pack_inst (
    .clk(clk),
    .rst(rst),
    .package_en(package_reg),
    .s_axis_tdata(tb_m_tdata),
    .s_axis_tvalid(join_valid),
    .s_axis_tready(tp_s_tready),
    .s_axis_tlast(tb_m_tlast),
    .s_axis_tuser({tk_m_tdata[IDX_WIDTH], score_mem[tk_m_tdata[IDX_WIDTH-1:0]]}),
    .m_axis_tdata(tp_m_tdata),
    .m_axis_tvalid(tp_m_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(tp_m_tlast),
    .m_axis_tuser(tp_m_tuser)
);

assign m_axis_tdata = tp_m_tdata;
assign m_axis_tvalid = tp_m_tvalid;
assign m_axis_tlast = tp_m_tlast;
assign m_axis_tuser = tp_m_tuser[IDX_WIDTH] ? n_reg : CNT_WIDTH'(tp_m_tuser[IDX_WIDTH-1:0]);

wire out_beat = tp_m_tvalid && m_axis_tready;
// topk_select's tlast and candidate flag are implied by the token buffer's tlast and the keep bit.
wire unused_topk = &{1'b0, tk_m_tlast, tk_m_tuser[0]};
wire out_end = out_beat && tp_m_tlast;
assign finish = (state_reg == S_CHECK && regs_bad_reg) || (running && out_end);

// ---- sequential logic --------------------------------------------------------------------------------------------
always_ff @(posedge clk) begin
    // host writes
    if (reg_wr_en) begin
        case (reg_wr_addr)
            A_CTRL: begin
                if (reg_wr_strb[0]) begin
                    ap_start_reg <= ap_start_reg | reg_wr_data[0];
                    auto_restart_reg <= reg_wr_data[7];
                end
            end
            A_GIE: if (reg_wr_strb[0]) gie_reg <= reg_wr_data[0];
            A_IER: if (reg_wr_strb[0]) ier_reg <= reg_wr_data[1:0];
            A_ISR: if (reg_wr_strb[0]) isr_reg <= isr_reg ^ reg_wr_data[1:0];
            A_N: r_n_reg <= strobed(r_n_reg, reg_wr_data, reg_wr_strb);
            A_TAIL: r_tail_reg <= strobed(r_tail_reg, reg_wr_data, reg_wr_strb);
            A_K: r_k_reg <= strobed(r_k_reg, reg_wr_data, reg_wr_strb);
            A_THR_MODE: r_thr_mode_reg <= strobed(r_thr_mode_reg, reg_wr_data, reg_wr_strb);
            A_THRESHOLD: r_threshold_reg <= strobed(r_threshold_reg, reg_wr_data, reg_wr_strb);
            A_PACKAGE: r_package_reg <= strobed(r_package_reg, reg_wr_data, reg_wr_strb);
            A_SEL_EPS_LO: r_eps_lo_reg <= strobed(r_eps_lo_reg, reg_wr_data, reg_wr_strb);
            A_SEL_EPS_HI: r_eps_hi_reg <= strobed(r_eps_hi_reg, reg_wr_data, reg_wr_strb);
            A_SEL_SHIFTS_0: r_shifts0_reg <= strobed(r_shifts0_reg, reg_wr_data, reg_wr_strb);
            A_SEL_SHIFTS_1: r_shifts1_reg <= strobed(r_shifts1_reg, reg_wr_data, reg_wr_strb);
            default: ;
        endcase
    end
    // clear-on-read
    if (reg_rd_en && reg_rd_addr == A_CTRL) begin
        ap_done_reg <= 1'b0;
        ap_ready_reg <= 1'b0;
    end

    // run control
    case (state_reg)
        S_IDLE: begin
            if (ap_start_reg) begin
                // Clamp k: anything at or above the candidate count keeps every candidate.
                n_reg <= CNT_WIDTH'(r_n_reg);
                tail_reg <= CNT_WIDTH'(r_tail_reg);
                k_reg <= r_k_reg > 32'(N_MAX) ? CNT_WIDTH'(N_MAX) : CNT_WIDTH'(r_k_reg);
                thr_mode_reg <= r_thr_mode_reg[0];
                thr_reg <= r_threshold_reg[15:0];
                package_reg <= r_package_reg[0];
                regs_bad_reg <= r_n_reg == '0 || r_n_reg > 32'(N_MAX) || r_tail_reg > 32'(TAIL_MAX);
                state_reg <= S_CHECK;
            end
        end
        S_CHECK: begin
            state_reg <= regs_bad_reg ? S_IDLE : S_RUN;
        end
        default: begin
            if (finish) begin
                state_reg <= S_IDLE;
            end
        end
    endcase

    if (clear) begin
        in_tok_reg <= '0;
        in_beat_reg <= '0;
        in_done_reg <= 1'b0;
        sc_cnt_reg <= '0;
        sc_done_reg <= 1'b0;
        tlast_err_reg <= 1'b0;
        score_err_reg <= 1'b0;
        out_tok_reg <= '0;
        out_beat_reg <= '0;
        join_beat_reg <= '0;
    end
    if (in_beat) begin
        if (s_axis_tlast != in_frame_last) begin
            tlast_err_reg <= 1'b1;
        end
        in_beat_reg <= in_last_beat ? '0 : in_beat_reg + 1'b1;
        if (in_last_beat) begin
            in_tok_reg <= in_tok_reg + 1'b1;
        end
        if (in_frame_last) begin
            in_done_reg <= 1'b1;
        end
    end
    if (sc_beat) begin
        if (sc_tlast != sc_frame_last) begin
            score_err_reg <= 1'b1;
        end
        sc_cnt_reg <= sc_cnt_reg + 1'b1;
        if (sc_frame_last) begin
            sc_done_reg <= 1'b1;
        end
    end
    if (join_beat) begin
        join_beat_reg <= join_last_beat ? '0 : join_beat_reg + 1'b1;
        if (join_last_beat) begin
            n_kept_reg <= tk_m_tuser[KC_WIDTH:1];
        end
    end
    if (out_beat) begin
        out_beat_reg <= out_beat_reg == BEAT_WIDTH'(BEATS - 1) ? '0 : out_beat_reg + 1'b1;
        if (out_beat_reg == BEAT_WIDTH'(BEATS - 1)) begin
            out_tok_reg <= out_tok_reg + 1'b1;
        end
    end

    if (finish) begin
        ap_done_reg <= 1'b1;
        ap_ready_reg <= 1'b1;
        if (!auto_restart_reg) begin
            ap_start_reg <= 1'b0;
        end
        isr_reg <= isr_reg | ier_reg;
        if (regs_bad_reg) begin
            n_out_reg <= '0;
            n_kept_reg <= '0;
            status_reg <= 3'b001;
        end else begin
            n_out_reg <= out_tok_reg + 1'b1;  // the last token's final beat is leaving now
            status_reg <= {score_err_reg, tlast_err_reg, 1'b0};
        end
    end

    if (rst) begin
        state_reg <= S_IDLE;
        ap_start_reg <= 1'b0;
        ap_done_reg <= 1'b0;
        ap_ready_reg <= 1'b0;
        auto_restart_reg <= 1'b0;
        gie_reg <= 1'b0;
        ier_reg <= '0;
        isr_reg <= '0;
        r_n_reg <= '0;
        r_tail_reg <= '0;
        r_k_reg <= '0;
        r_thr_mode_reg <= '0;
        r_threshold_reg <= '0;
        r_package_reg <= '0;
        r_eps_lo_reg <= '0;
        r_eps_hi_reg <= '0;
        r_shifts0_reg <= '0;
        r_shifts1_reg <= '0;
        n_out_reg <= '0;
        n_kept_reg <= '0;
        status_reg <= '0;
        regs_bad_reg <= 1'b0;
        in_done_reg <= 1'b1;
        sc_done_reg <= 1'b1;
    end
end

assign irq = gie_reg && |isr_reg;

// Register read-back.
always_comb begin
    reg_rd_data = '0;
    case (reg_rd_addr)
        A_CTRL: reg_rd_data = {24'd0, auto_restart_reg, 3'd0, ap_ready_reg, state_reg == S_IDLE, ap_done_reg,
                               ap_start_reg};
        A_GIE: reg_rd_data = {31'd0, gie_reg};
        A_IER: reg_rd_data = {30'd0, ier_reg};
        A_ISR: reg_rd_data = {30'd0, isr_reg};
        A_N: reg_rd_data = r_n_reg;
        A_TAIL: reg_rd_data = r_tail_reg;
        A_K: reg_rd_data = r_k_reg;
        A_THR_MODE: reg_rd_data = r_thr_mode_reg;
        A_THRESHOLD: reg_rd_data = r_threshold_reg;
        A_PACKAGE: reg_rd_data = r_package_reg;
        A_N_OUT: reg_rd_data = 32'(n_out_reg);
        A_N_KEPT: reg_rd_data = 32'(n_kept_reg);
        A_STATUS: reg_rd_data = {29'd0, status_reg};
        A_SEL_EPS_LO: reg_rd_data = r_eps_lo_reg;
        A_SEL_EPS_HI: reg_rd_data = r_eps_hi_reg;
        A_SEL_SHIFTS_0: reg_rd_data = r_shifts0_reg;
        A_SEL_SHIFTS_1: reg_rd_data = r_shifts1_reg;
        default: reg_rd_data = '0;
    endcase
end

endmodule : prune_stage

`resetall
