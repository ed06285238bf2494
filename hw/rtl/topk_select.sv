// Token selection of a pruning stage: top-k with a run-time k, or threshold capped at k, as a streaming insertion
// network; the keep decision of every token leaves in original token order.
//
// Contract: docs/arithmetic.md §9; golden model spvit.sim.golden.topk_select.topk_select (and .candidates), HLS
// twin hw/hls/topk_select.hpp. Bit-exact:
//   - candidates: tokens 1 <= j < n - n_protected_tail (token 0 is the class token, the last n_protected_tail
//     tokens are package tokens of earlier stages); every other token is always kept;
//   - rank of a candidate: the candidates with a higher score, or an equal score and a lower index;
//   - keep a candidate when rank < k (k clamped to the candidate count) and, with threshold_en, score >= threshold.
//
// Input: s_axis, one uint16 score per beat in token order, tlast on the last token present (n = number of beats,
// 1 <= n <= N_MAX). The run-time registers k, n_protected_tail, threshold_en and threshold are sampled with the first
// beat (the class token) of each frame.
// Output: m_axis, one beat per token in original order: tdata = {keep, index}, tlast on token n - 1, tuser =
// {kept_count, candidate}: candidate = 1 for tokens that could be pruned, kept_count = the number of kept candidates
// of the frame (the same on every beat of it). Pruned tokens are the beats with keep = 0.
//
// Hardware (finn-hlslib LabelSelect style): K_MAX slots of (score, index), sorted by score, best first. A candidate
// is inserted per cycle with one comparator per slot: slot p takes it (or its upper neighbour's pair) when the slot
// is empty or score > slot score -- strict, so an equal later score never displaces an earlier one (ties to the lower
// index). Because the protected tail is only known at tlast, each token waits in a TAIL_MAX-deep score history until
// n_protected_tail later tokens have arrived, which proves it is not in the tail; the tokens still waiting at tlast
// are the tail. After tlast the slots with p < k (and score >= threshold) are copied as a selection mask (with their
// indices) to the output side, which streams the n decisions by matching the token counter against the K_MAX
// selected indices; meanwhile the network is emptied and takes the next frame.
// Timing: n input cycles, 1 hand-over cycle, n output cycles (overlapping the next frame's input): one frame every
// n + 1 cycles at full rate; first output beat 3 cycles after tlast is accepted.
// Exact for k <= K_MAX, or any k when the frame has at most K_MAX candidates (k > K_MAX acts as K_MAX; simulation
// asserts when that would differ from the contract).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module topk_select #(
    parameter int N_MAX = 256,       // most tokens per frame
    parameter int K_MAX = 64,        // insertion-network length: the largest run-time k
    parameter int TAIL_MAX = 4,      // largest n_protected_tail (package tokens of earlier stages)
    parameter int SCORE_WIDTH = 16,  // score width (unsigned; uint16 at frac 16 in the contract)
    // Token index, token count and kept-candidate count widths (derived).
    localparam int IDX_WIDTH = N_MAX > 1 ? $clog2(N_MAX) : 1,
    localparam int CNT_WIDTH = $clog2(N_MAX + 1),
    localparam int KC_WIDTH = $clog2(K_MAX + 1)
) (
    input  wire logic                     clk,
    input  wire logic                     rst,

    // Run-time registers, sampled with the first beat of a frame.
    input  wire logic [CNT_WIDTH-1:0]     k,                 // keep at most k candidates (0 keeps none)
    input  wire logic [CNT_WIDTH-1:0]     n_protected_tail,  // last tokens that are never candidates, <= TAIL_MAX
    input  wire logic                     threshold_en,      // threshold mode: also require score >= threshold
    input  wire logic [SCORE_WIDTH-1:0]   threshold,

    input  wire logic [SCORE_WIDTH-1:0]   s_axis_tdata,      // score of token j at beat j
    input  wire logic                     s_axis_tvalid,
    output wire logic                     s_axis_tready,
    input  wire logic                     s_axis_tlast,

    output wire logic [IDX_WIDTH:0]       m_axis_tdata,      // {keep, token index}
    output wire logic                     m_axis_tvalid,
    input  wire logic                     m_axis_tready,
    output wire logic                     m_axis_tlast,
    output wire logic [KC_WIDTH:0]        m_axis_tuser       // {kept candidates of the frame, candidate}
);

// The score history holds the last TAIL_MAX scores (one unused register when TAIL_MAX = 0).
localparam int HIST_LEN = TAIL_MAX > 0 ? TAIL_MAX : 1;

// Illegal parameter combinations stop elaboration.
if (N_MAX < 1) begin : g_check_n
    $fatal(1, "topk_select: N_MAX (%0d) must be >= 1", N_MAX);
end
if (K_MAX < 1 || K_MAX > N_MAX) begin : g_check_k
    $fatal(1, "topk_select: K_MAX (%0d) must be in [1, N_MAX]", K_MAX);
end
if (TAIL_MAX < 0 || TAIL_MAX >= N_MAX) begin : g_check_tail
    $fatal(1, "topk_select: TAIL_MAX (%0d) must be in [0, N_MAX)", TAIL_MAX);
end
if (SCORE_WIDTH < 1) begin : g_check_score
    $fatal(1, "topk_select: SCORE_WIDTH (%0d) must be >= 1", SCORE_WIDTH);
end

// ---------------------------------------------------------------------------------------------------------------
// Input side: the insertion network.
// Only the control state and the slot valid bits are reset; the rest is don't-care while invalid.
logic [CNT_WIDTH-1:0]                  in_cnt_reg, in_cnt_next;    // index of the next input beat
logic                                  full_reg, full_next;        // frame complete, waiting for the hand-over
logic [CNT_WIDTH-1:0]                  n_reg, n_next;              // tokens of the complete frame
logic [CNT_WIDTH-1:0]                  k_reg, k_next;
logic [CNT_WIDTH-1:0]                  tail_reg, tail_next;
logic                                  thr_en_reg, thr_en_next;
logic [SCORE_WIDTH-1:0]                thr_reg, thr_next;
logic [HIST_LEN-1:0][SCORE_WIDTH-1:0]  hist_reg, hist_next;        // hist[i]: score of token in_cnt - 1 - i
logic [K_MAX-1:0][SCORE_WIDTH-1:0]     slot_score_reg, slot_score_next;
logic [K_MAX-1:0][IDX_WIDTH-1:0]       slot_index_reg, slot_index_next;
logic [K_MAX-1:0]                      slot_valid_reg, slot_valid_next;

// Output side: the selection of the frame being streamed out.
logic                                  out_busy_reg, out_busy_next;
logic [CNT_WIDTH-1:0]                  out_cnt_reg, out_cnt_next;  // index of the next output beat
logic [CNT_WIDTH-1:0]                  out_n_reg, out_n_next;
logic [CNT_WIDTH-1:0]                  out_tail_reg, out_tail_next;
logic [KC_WIDTH-1:0]                   out_kept_reg, out_kept_next;
logic [K_MAX-1:0]                      out_sel_reg, out_sel_next;
logic [K_MAX-1:0][IDX_WIDTH-1:0]       out_index_reg, out_index_next;

logic [IDX_WIDTH:0]                    m_axis_tdata_reg, m_axis_tdata_next;
logic                                  m_axis_tvalid_reg, m_axis_tvalid_next;
logic                                  m_axis_tlast_reg, m_axis_tlast_next;
logic [KC_WIDTH:0]                     m_axis_tuser_reg, m_axis_tuser_next;

assign s_axis_tready = !full_reg;
assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;
assign m_axis_tuser = m_axis_tuser_reg;

// The token that leaves the history at this beat: token in_cnt - tail, a candidate when it is >= 1 (it is followed
// by `tail` tokens, so it is not in the protected tail). The tail register is the frame's from beat 1 on; at beat 0
// nothing is inserted whatever it holds.
logic                   ins;
logic [SCORE_WIDTH-1:0] ins_score;
logic [IDX_WIDTH-1:0]   ins_index;
logic [K_MAX-1:0]       beats;  // the new score beats slot p (a prefix of the slots: they are sorted)

always_comb begin
    ins = s_axis_tvalid && s_axis_tready && in_cnt_reg > tail_reg;
    ins_index = IDX_WIDTH'(in_cnt_reg - tail_reg);
    ins_score = s_axis_tdata;
    for (int i = 0; i < HIST_LEN; i++) begin
        if (int'(tail_reg) == i + 1) begin
            ins_score = hist_reg[i];
        end
    end
    for (int p = 0; p < K_MAX; p++) begin
        beats[p] = !slot_valid_reg[p] || ins_score > slot_score_reg[p];
    end
end

// Selection of a complete frame: the first min(k, held) slots, cut at the first score below the threshold.
logic [K_MAX-1:0]    sel;
logic [KC_WIDTH-1:0] sel_count;
logic                hand_over;   // the complete frame moves to the output side this cycle
logic                out_step;    // the output side loads a beat into the output register this cycle
logic                out_cand;
logic                out_match;

always_comb begin
    sel_count = '0;
    for (int p = 0; p < K_MAX; p++) begin
        sel[p] = slot_valid_reg[p] && p < int'(k_reg) && (!thr_en_reg || slot_score_reg[p] >= thr_reg);
        sel_count = sel_count + KC_WIDTH'(sel[p]);
    end

    // Keep decision of output token out_cnt: not a candidate, or one of the selected indices.
    out_cand = out_cnt_reg != '0 && int'(out_cnt_reg) + int'(out_tail_reg) < int'(out_n_reg);
    out_match = 1'b0;
    for (int p = 0; p < K_MAX; p++) begin
        out_match = out_match || (out_sel_reg[p] && out_index_reg[p] == IDX_WIDTH'(out_cnt_reg));
    end
    out_step = out_busy_reg && (!m_axis_tvalid_reg || m_axis_tready);
    hand_over = full_reg && (!out_busy_reg || (out_step && out_cnt_reg + 1'b1 == out_n_reg));
end

always_comb begin
    in_cnt_next = in_cnt_reg;
    full_next = full_reg;
    n_next = n_reg;
    k_next = k_reg;
    tail_next = tail_reg;
    thr_en_next = thr_en_reg;
    thr_next = thr_reg;
    hist_next = hist_reg;
    slot_score_next = slot_score_reg;
    slot_index_next = slot_index_reg;
    slot_valid_next = slot_valid_reg;

    out_busy_next = out_busy_reg;
    out_cnt_next = out_cnt_reg;
    out_n_next = out_n_reg;
    out_tail_next = out_tail_reg;
    out_kept_next = out_kept_reg;
    out_sel_next = out_sel_reg;
    out_index_next = out_index_reg;

    m_axis_tdata_next = m_axis_tdata_reg;
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;
    m_axis_tlast_next = m_axis_tlast_reg;
    m_axis_tuser_next = m_axis_tuser_reg;

    if (s_axis_tvalid && s_axis_tready) begin
        if (in_cnt_reg == '0) begin
            k_next = k;
            tail_next = n_protected_tail;
            thr_en_next = threshold_en;
            thr_next = threshold;
        end
        hist_next[0] = s_axis_tdata;
        for (int i = 1; i < HIST_LEN; i++) begin
            hist_next[i] = hist_reg[i-1];
        end
        if (ins) begin
            // Slot p takes the new pair when it beats p but not p - 1, its upper neighbour's pair when it beats
            // both; the pair pushed out of the last slot is dropped.
            for (int p = 0; p < K_MAX; p++) begin
                if (beats[p]) begin
                    if (p > 0 && beats[p > 0 ? p-1 : 0]) begin
                        slot_score_next[p] = slot_score_reg[p > 0 ? p-1 : 0];
                        slot_index_next[p] = slot_index_reg[p > 0 ? p-1 : 0];
                        slot_valid_next[p] = slot_valid_reg[p > 0 ? p-1 : 0];
                    end else begin
                        slot_score_next[p] = ins_score;
                        slot_index_next[p] = ins_index;
                        slot_valid_next[p] = 1'b1;
                    end
                end
            end
        end
        if (s_axis_tlast) begin
            in_cnt_next = '0;
            n_next = in_cnt_reg + 1'b1;
            full_next = 1'b1;
        end else begin
            in_cnt_next = in_cnt_reg + 1'b1;
        end
    end

    if (out_step) begin
        m_axis_tdata_next = {!out_cand || out_match, IDX_WIDTH'(out_cnt_reg)};
        m_axis_tvalid_next = 1'b1;
        m_axis_tlast_next = out_cnt_reg + 1'b1 == out_n_reg;
        m_axis_tuser_next = {out_kept_reg, out_cand};
        out_cnt_next = out_cnt_reg + 1'b1;
        if (out_cnt_reg + 1'b1 == out_n_reg) begin
            out_busy_next = 1'b0;
        end
    end

    if (hand_over) begin
        out_busy_next = 1'b1;
        out_cnt_next = '0;
        out_n_next = n_reg;
        out_tail_next = tail_reg;
        out_kept_next = sel_count;
        out_sel_next = sel;
        out_index_next = slot_index_reg;
        slot_valid_next = '0;
        full_next = 1'b0;
    end
end

always_ff @(posedge clk) begin
    in_cnt_reg <= in_cnt_next;
    full_reg <= full_next;
    n_reg <= n_next;
    k_reg <= k_next;
    tail_reg <= tail_next;
    thr_en_reg <= thr_en_next;
    thr_reg <= thr_next;
    hist_reg <= hist_next;
    slot_score_reg <= slot_score_next;
    slot_index_reg <= slot_index_next;
    slot_valid_reg <= slot_valid_next;
    out_busy_reg <= out_busy_next;
    out_cnt_reg <= out_cnt_next;
    out_n_reg <= out_n_next;
    out_tail_reg <= out_tail_next;
    out_kept_reg <= out_kept_next;
    out_sel_reg <= out_sel_next;
    out_index_reg <= out_index_next;
    m_axis_tdata_reg <= m_axis_tdata_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    m_axis_tlast_reg <= m_axis_tlast_next;
    m_axis_tuser_reg <= m_axis_tuser_next;
    if (rst) begin
        in_cnt_reg <= '0;
        full_reg <= 1'b0;
        slot_valid_reg <= '0;
        out_busy_reg <= 1'b0;
        m_axis_tvalid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
// Contract checks: frame length, tail length, and k beyond the network only where it changes the result.
logic [CNT_WIDTH-1:0] cand_count;
always_comb begin
    cand_count = int'(n_reg) > int'(tail_reg) + 1 ? CNT_WIDTH'(n_reg - tail_reg - 1'b1) : '0;
end
always_ff @(posedge clk) begin
    if (!rst && s_axis_tvalid && s_axis_tready) begin
        assert (s_axis_tlast || int'(in_cnt_reg) < N_MAX - 1)
        else $error("topk_select: more than N_MAX (%0d) tokens in a frame", N_MAX);
        if (in_cnt_reg == '0) begin
            assert (int'(n_protected_tail) <= TAIL_MAX)
            else $error("topk_select: n_protected_tail %0d > TAIL_MAX (%0d)", n_protected_tail, TAIL_MAX);
        end
    end
    if (!rst && hand_over) begin
        assert (int'(k_reg) <= K_MAX || int'(cand_count) <= K_MAX)
        else $error("topk_select: k %0d > K_MAX (%0d) with %0d candidates", k_reg, K_MAX, cand_count);
    end
end
`endif

endmodule : topk_select

`resetall
