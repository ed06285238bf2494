// One attention head: int8 Q, K, V of a sequence in; Q K^T -> integer softmax -> P8 V -> int8 context out, plus the
// class-token row of p16 for Adaptive Sparse ViT scoring.
//
// Contract: docs/arithmetic.md §5 (§5.1 logits S = Q K^T, int32 at frac f_q + f_k; §5.2 softmax over the keys
// present; §5.3 ctx = requantize(P8 V, 8 + f_v - f_ctx); §5.4 the class row). Golden: spvit.sim.golden.attention.
// attention (one head of it); HLS twin attention_head in hw/hls/attention.hpp. Bit-exact. The 1/sqrt(d_head) is
// folded into Q at export (§5.1), so no scaling happens here. Heads are independent: an encoder block instantiates
// this module per head or streams its heads through one instance, image after image.
//
// Streams.
//   s_axis      keys and values, one token per beat, tokens 0 .. n-1 of one image, tlast on token n-1 (so n,
//               1 <= n <= N_MAX, is the frame length: tokens >= n are absent and take no part). tdata = {v, k},
//               2 DH int8 lanes: k lane c at [8c+7 : 8c], v lane c at [8(DH+c)+7 : 8(DH+c)]. `frac_qk` (f_q + f_k,
//               in [-5, 32]) and `ctx_shift` (8 + f_v - f_ctx, in [-64, 63]) are sampled with the tlast beat and
//               hold for the image.
//   s_axis_q    the queries of the same image, one token per beat (DH int8 lanes, lane c at [8c+7 : 8c]), tokens
//               0 .. n-1, tlast on token n-1. They may come before, with or after the keys: row i starts once q_i and
//               all keys are in, so a producer may compute the queries last (the encoder block does: k and v of every
//               token first, then q under the attention rows). The next image's queries are taken once this image's
//               last row has started.
//   m_axis      the context, one token per beat (DH int8 lanes, lane c at [8c+7 : 8c]), tokens 0 .. n-1, tlast on
//               token n-1. Token 0 is the class token's context (§5.4), which the encoder block forwards to scoring.
//   m_axis_cls  row 0 of p16 (the class token's attention to every token, §5.4): n uint16 beats, tlast on the n-th.
//               It shares its handshake with the A.V pass of row 0, so a consumer must drain it independently of
//               m_axis (all of it leaves before context token 0 does).
//
// Hardware. LOAD takes the keys and values into two N_MAX x DH-byte buffers (one beat per cycle), the queries go
// into a third as they come. Then, per query row i (once q_i is in):
// the logits q_i . k_j (QK_SIMD products per cycle, DH/QK_SIMD cycles per key, an issue stage and a MAC stage
// that stall together under softmax backpressure) stream into softmax.sv, whose (p8, p16) output drives a DH-lane
// A.V accumulator (one key per cycle: acc[c] += p8_j v_j[c]); at the end of the row the accumulators are requantized
// REQ_LANES lanes per cycle (round_sat.sv) into the m_axis output register: DH/REQ_LANES cycles per row, hidden
// behind the softmax's per-row division while that is shorter (about 25 cycles). Logits of row i+1 are computed
// while the softmax normalises row i and A.V accumulates row i-1. A row costs about max(n DH/QK_SIMD, n + 29)
// cycles (the second term is softmax.sv's EXP engine: one pass plus the division; measured 96 cycles per row at
// n = 67, DH = QK_SIMD = 16); the next image's keys load once the last context row is out of the accumulators.
//
// Widths: |q k| <= 2**14, so a logit needs 16 + clog2(DH) bits (the contract's int32 holds it); A.V: |p8 v| < 2**15
// and a row has at most N_MAX terms: 16 + clog2(N_MAX + 1) bits, never saturating.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module attention #(
    parameter int N_MAX = 67,   // most tokens per image (buffer depth)
    parameter int DH = 16,      // channels per head (d_head)
    parameter int QK_SIMD = 16, // products per cycle in a logit; divides DH
    parameter int REQ_LANES = 4 // context lanes requantized per cycle at the end of a row; divides DH
) (
    input  wire logic                  clk,
    input  wire logic                  rst,

    input  wire logic signed [6:0]     frac_qk,    // f_q + f_k, the logits' frac; sampled with s_axis tlast
    input  wire logic signed [6:0]     ctx_shift,  // 8 + f_v - f_ctx; sampled with s_axis tlast

    input  wire logic [2*DH*8-1:0]     s_axis_tdata,  // {v, k}
    input  wire logic                  s_axis_tvalid,
    output wire logic                  s_axis_tready,
    input  wire logic                  s_axis_tlast,

    input  wire logic [DH*8-1:0]       s_axis_q_tdata,  // q
    input  wire logic                  s_axis_q_tvalid,
    output wire logic                  s_axis_q_tready,
    input  wire logic                  s_axis_q_tlast,

    output wire logic [DH*8-1:0]       m_axis_tdata,  // context of one token
    output wire logic                  m_axis_tvalid,
    input  wire logic                  m_axis_tready,
    output wire logic                  m_axis_tlast,

    output wire logic [15:0]           m_axis_cls_tdata,  // p16 of row 0
    output wire logic                  m_axis_cls_tvalid,
    input  wire logic                  m_axis_cls_tready,
    output wire logic                  m_axis_cls_tlast
);

localparam int CH = DH / QK_SIMD;                           // cycles per logit
localparam int CH_WIDTH = CH > 1 ? $clog2(CH) : 1;
localparam int ROW_BITS = DH * 8;
localparam int SIMD_BITS = QK_SIMD * 8;
localparam int ADDR_WIDTH = N_MAX > 1 ? $clog2(N_MAX) : 1;
localparam int CNT_WIDTH = $clog2(N_MAX + 1);
localparam int LOGIT_WIDTH = 16 + $clog2(DH);               // |logit| <= DH 2**14
localparam int AV_WIDTH = 16 + $clog2(N_MAX + 1);           // |sum_j p8_j v_j| < N_MAX 2**15
localparam int GROUPS = DH / REQ_LANES;                     // requantization cycles per row
localparam int G_WIDTH = GROUPS > 1 ? $clog2(GROUPS) : 1;
localparam int GROUP_BITS = REQ_LANES * 8;

if (N_MAX < 1 || N_MAX > 65535) begin : g_check_n
    $fatal(1, "attention: N_MAX (%0d) must be in [1, 65535]", N_MAX);
end
if (DH < 1 || QK_SIMD < 1 || DH % QK_SIMD != 0) begin : g_check_simd
    $fatal(1, "attention: QK_SIMD (%0d) must divide DH (%0d)", QK_SIMD, DH);
end
if (REQ_LANES < 1 || DH % REQ_LANES != 0) begin : g_check_req
    $fatal(1, "attention: REQ_LANES (%0d) must divide DH (%0d)", REQ_LANES, DH);
end

// ---- buffers -------------------------------------------------------------------------------------------------------
logic [ROW_BITS-1:0] q_mem [N_MAX];
logic [ROW_BITS-1:0] k_mem [N_MAX];
logic [ROW_BITS-1:0] v_mem [N_MAX];

// ---- control -------------------------------------------------------------------------------------------------------
typedef enum logic [1:0] {LOAD, COMPUTE, DRAIN} state_t;

state_t                state_reg, state_next;
logic [CNT_WIDTH-1:0]  n_reg, n_next;
logic [CNT_WIDTH-1:0]  load_count_reg, load_count_next;
logic [CNT_WIDTH-1:0]  q_count_reg;             // queries of the image in q_mem
logic                  q_done_reg;              // the image's last query (tlast) is in
logic signed [6:0]     frac_reg, frac_next;
logic signed [6:0]     shift_reg, shift_next;
logic [ADDR_WIDTH-1:0] row_reg, row_next;       // query row i being issued
logic [ADDR_WIDTH-1:0] key_reg, key_next;       // key j being issued
logic [CH_WIDTH-1:0]   ch_reg, ch_next;         // channel chunk being issued

logic                  load_fire;
logic                  q_fire;
logic                  qk_adv;                  // the logit pipeline moves
logic                  issue;                   // a (row, key, chunk) enters the logit pipeline
logic                  last_key, last_row, last_ch;
logic                  image_done;              // the last context row has left the accumulators

assign s_axis_tready = state_reg == LOAD;
assign load_fire = s_axis_tvalid && state_reg == LOAD;
// Queries of the image up to its tlast (n of them once n is known); the next image's once the last row is issued: the
// rows read q_mem only at issue.
assign s_axis_q_tready = !q_done_reg
    && (state_reg == COMPUTE ? q_count_reg < n_reg : q_count_reg < CNT_WIDTH'(N_MAX));
assign q_fire = s_axis_q_tvalid && s_axis_q_tready;
assign issue = state_reg == COMPUTE && qk_adv && q_count_reg > CNT_WIDTH'(row_reg);
assign last_key = key_reg == ADDR_WIDTH'(n_reg - 1'b1);
assign last_row = row_reg == ADDR_WIDTH'(n_reg - 1'b1);
assign last_ch = ch_reg == CH_WIDTH'(CH - 1);

always_comb begin
    state_next = state_reg;
    n_next = n_reg;
    load_count_next = load_count_reg;
    frac_next = frac_reg;
    shift_next = shift_reg;
    row_next = row_reg;
    key_next = key_reg;
    ch_next = ch_reg;

    case (state_reg)
        LOAD: begin
            if (load_fire) begin
                load_count_next = load_count_reg + 1'b1;
                if (s_axis_tlast) begin
                    n_next = load_count_reg + 1'b1;
                    load_count_next = '0;
                    frac_next = frac_qk;
                    shift_next = ctx_shift;
                    row_next = '0;
                    key_next = '0;
                    ch_next = '0;
                    state_next = COMPUTE;
                end
            end
        end
        COMPUTE: begin
            if (issue) begin
                ch_next = ch_reg + 1'b1;
                if (last_ch) begin
                    ch_next = '0;
                    key_next = key_reg + 1'b1;
                    if (last_key) begin
                        key_next = '0;
                        row_next = row_reg + 1'b1;
                        if (last_row) begin
                            state_next = DRAIN;
                        end
                    end
                end
            end
        end
        DRAIN: begin
            if (image_done) begin
                state_next = LOAD;
            end
        end
        default: state_next = LOAD;
    endcase
end

always_ff @(posedge clk) begin
    if (load_fire && load_count_reg < CNT_WIDTH'(N_MAX)) begin
        k_mem[ADDR_WIDTH'(load_count_reg)] <= s_axis_tdata[0 +: ROW_BITS];
        v_mem[ADDR_WIDTH'(load_count_reg)] <= s_axis_tdata[ROW_BITS +: ROW_BITS];
    end
    if (q_fire) begin
        q_mem[ADDR_WIDTH'(q_count_reg)] <= s_axis_q_tdata;
    end
    // the last row issued: the next image's queries start at 0
    q_count_reg <= issue && last_ch && last_key && last_row ? '0 : q_count_reg + CNT_WIDTH'(q_fire);
    q_done_reg <= issue && last_ch && last_key && last_row ? 1'b0 : q_done_reg || (q_fire && s_axis_q_tlast);
    state_reg <= state_next;
    n_reg <= n_next;
    load_count_reg <= load_count_next;
    frac_reg <= frac_next;
    shift_reg <= shift_next;
    row_reg <= row_next;
    key_reg <= key_next;
    ch_reg <= ch_next;
    if (rst) begin
        state_reg <= LOAD;
        load_count_reg <= '0;
        q_count_reg <= '0;
        q_done_reg <= 1'b0;
    end
end

// ---- logits: q_i . k_j, QK_SIMD products per cycle -----------------------------------------------------------------
logic [ROW_BITS-1:0]          q_rd_reg, k_rd_reg;
logic                         mac_valid_reg, mac_first_reg, mac_lastch_reg, mac_lastkey_reg;
logic [CH_WIDTH-1:0]          mac_ch_reg;
logic signed [LOGIT_WIDTH-1:0] dot_reg, dot_next;
logic signed [LOGIT_WIDTH-1:0] partial;
logic [SIMD_BITS-1:0]         q_chunk, k_chunk;

logic [LOGIT_WIDTH-1:0]       logit_reg;
logic                         logit_valid_reg, logit_last_reg;
logic                         sm_s_tready;

assign qk_adv = !logit_valid_reg || sm_s_tready;

always_comb begin
    q_chunk = q_rd_reg[mac_ch_reg * SIMD_BITS +: SIMD_BITS];
    k_chunk = k_rd_reg[mac_ch_reg * SIMD_BITS +: SIMD_BITS];
    partial = '0;
    for (int l = 0; l < QK_SIMD; l++) begin
        partial = partial + LOGIT_WIDTH'($signed(q_chunk[8*l +: 8]) * $signed(k_chunk[8*l +: 8]));
    end
    dot_next = mac_first_reg ? partial : dot_reg + partial;
end

always_ff @(posedge clk) begin
    if (qk_adv) begin
        // issue stage: read the query row and the key (re-read per chunk; the address does not change)
        if (issue) begin
            q_rd_reg <= q_mem[row_reg];
            k_rd_reg <= k_mem[key_reg];
        end
        mac_valid_reg <= issue;
        mac_first_reg <= ch_reg == '0;
        mac_lastch_reg <= last_ch;
        mac_lastkey_reg <= last_key;
        mac_ch_reg <= ch_reg;
        // MAC stage
        if (mac_valid_reg) begin
            dot_reg <= dot_next;
        end
        logit_valid_reg <= mac_valid_reg && mac_lastch_reg;
        logit_last_reg <= mac_lastkey_reg;
        logit_reg <= dot_next;
    end
    if (rst) begin
        mac_valid_reg <= 1'b0;
        logit_valid_reg <= 1'b0;
    end
end

// ---- softmax over the row ------------------------------------------------------------------------------------------
logic [23:0] sm_tdata;
logic        sm_tvalid, sm_tready, sm_tlast;

softmax #(
    .N_MAX(N_MAX),
    .LOGIT_WIDTH(LOGIT_WIDTH)
) row_softmax (
    .clk(clk),
    .rst(rst),
    .frac(frac_reg),
    .s_axis_tdata(logit_reg),
    .s_axis_tvalid(logit_valid_reg),
    .s_axis_tready(sm_s_tready),
    .s_axis_tlast(logit_last_reg),
    .m_axis_tdata(sm_tdata),
    .m_axis_tvalid(sm_tvalid),
    .m_axis_tready(sm_tready),
    .m_axis_tlast(sm_tlast)
);

// ---- A.V, requantize, the class row --------------------------------------------------------------------------------
logic [ADDR_WIDTH-1:0]  av_key_reg, av_key_next;   // key j of the softmax element arriving next
logic [ADDR_WIDTH-1:0]  av_row_reg, av_row_next;   // query row the softmax is outputting
logic                   av_valid_reg, av_first_reg, av_last_reg;
logic [7:0]             av_p8_reg;
logic [ROW_BITS-1:0]    v_rd_reg;
logic                   acc_done_reg, acc_done_next;
logic signed [AV_WIDTH-1:0] acc_reg [DH];

// Requantization, REQ_LANES lanes per cycle, straight into the (empty) m_axis register.
logic                   req_active_reg, req_active_next;
logic [G_WIDTH-1:0]     req_group_reg, req_group_next;
logic                   req_start;                 // first group of a finished row (output register free)
logic                   req_fire;                  // a group is requantized this cycle
logic [G_WIDTH-1:0]     req_group;
logic                   req_last;
logic [GROUP_BITS-1:0]  req_lanes;

logic                   sm_fire;
logic                   row_out;                   // the last group: the context token is complete
logic                   cls_row;

logic [ROW_BITS-1:0]    m_axis_tdata_reg;
logic                   m_axis_tvalid_reg, m_axis_tvalid_next;
logic                   m_axis_tlast_reg;
logic [15:0]            cls_tdata_reg;
logic                   cls_tvalid_reg, cls_tvalid_next;
logic                   cls_tlast_reg;

assign cls_row = av_row_reg == '0;
// After a row's last element nothing more is taken until its context has left the accumulators; row 0's elements
// also need room in the class-row output register.
assign sm_tready = !acc_done_reg && !(av_valid_reg && av_last_reg)
    && (!cls_row || !cls_tvalid_reg || m_axis_cls_tready);
assign sm_fire = sm_tvalid && sm_tready;
assign req_start = acc_done_reg && !req_active_reg && (!m_axis_tvalid_reg || m_axis_tready);
assign req_fire = req_start || req_active_reg;
assign req_group = req_active_reg ? req_group_reg : '0;
assign req_last = req_group == G_WIDTH'(GROUPS - 1);
assign row_out = req_fire && req_last;
assign image_done = row_out && av_row_reg == ADDR_WIDTH'(n_reg - 1'b1);

always_comb begin
    av_key_next = av_key_reg;
    av_row_next = av_row_reg;
    acc_done_next = acc_done_reg;
    req_active_next = req_active_reg;
    req_group_next = req_group_reg;
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;
    cls_tvalid_next = cls_tvalid_reg && !m_axis_cls_tready;
    if (sm_fire) begin
        av_key_next = sm_tlast ? '0 : av_key_reg + 1'b1;
        if (cls_row) begin
            cls_tvalid_next = 1'b1;
        end
    end
    if (av_valid_reg && av_last_reg) begin
        acc_done_next = 1'b1;
    end
    if (req_fire) begin
        req_active_next = !req_last;
        req_group_next = req_group + 1'b1;
    end
    if (row_out) begin
        acc_done_next = 1'b0;
        m_axis_tvalid_next = 1'b1;
        av_row_next = image_done ? '0 : av_row_reg + 1'b1;
    end
end

for (genvar c = 0; c < DH; c++) begin : g_lane
    logic signed [16:0] product;  // uint8 x int8
    assign product = $signed({9'b0, av_p8_reg}) * 17'($signed(v_rd_reg[8*c +: 8]));

    always_ff @(posedge clk) begin
        if (av_valid_reg) begin
            acc_reg[c] <= (av_first_reg ? '0 : acc_reg[c]) + AV_WIDTH'(product);
        end
    end
end

for (genvar l = 0; l < REQ_LANES; l++) begin : g_req
    round_sat #(
        .IN_WIDTH(AV_WIDTH),
        .OUT_WIDTH(8),
        .SHIFT_WIDTH(7),
        .SIGNED_OUT(1'b1)
    ) ctx_requant (
        .in(acc_reg[int'(req_group) * REQ_LANES + l]),
        .shift(shift_reg),
        .out(req_lanes[8*l +: 8])
    );
end

assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;
assign m_axis_cls_tdata = cls_tdata_reg;
assign m_axis_cls_tvalid = cls_tvalid_reg;
assign m_axis_cls_tlast = cls_tlast_reg;

always_ff @(posedge clk) begin
    av_valid_reg <= sm_fire;
    if (sm_fire) begin
        av_p8_reg <= sm_tdata[7:0];
        av_first_reg <= av_key_reg == '0;
        av_last_reg <= sm_tlast;
        v_rd_reg <= v_mem[av_key_reg];
        if (cls_row) begin
            cls_tdata_reg <= sm_tdata[23:8];
            cls_tlast_reg <= sm_tlast;
        end
    end
    if (req_fire) begin
        m_axis_tdata_reg[int'(req_group) * GROUP_BITS +: GROUP_BITS] <= req_lanes;
    end
    if (row_out) begin
        m_axis_tlast_reg <= image_done;
    end
    av_key_reg <= av_key_next;
    av_row_reg <= av_row_next;
    acc_done_reg <= acc_done_next;
    req_active_reg <= req_active_next;
    req_group_reg <= req_group_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    cls_tvalid_reg <= cls_tvalid_next;
    if (rst) begin
        av_valid_reg <= 1'b0;
        av_key_reg <= '0;
        av_row_reg <= '0;
        acc_done_reg <= 1'b0;
        req_active_reg <= 1'b0;
        m_axis_tvalid_reg <= 1'b0;
        cls_tvalid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && load_fire) begin
        assert (load_count_reg < CNT_WIDTH'(N_MAX)) else $error("attention: more than N_MAX (%0d) tokens", N_MAX);
    end
    if (!rst && q_fire && state_reg == COMPUTE) begin
        assert (s_axis_q_tlast == (q_count_reg == n_reg - 1'b1))
        else $error("attention: query tlast %0d on query %0d of %0d", s_axis_q_tlast, q_count_reg, n_reg);
    end
end
`endif

endmodule : attention

`resetall
