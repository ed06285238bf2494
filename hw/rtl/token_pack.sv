// Token packaging of a pruning stage: the tokens that stay leave in order, the pruned ones become one package token,
// their score-weighted mean, appended at the end.
//
// Contract: docs/arithmetic.md §10 (package token) and §11.3 (the next sequence); golden model
// spvit.sim.golden.token_pack.token_pack and the gather of spvit.sim.golden.model.prune_stage, HLS twin
// hw/hls/token_pack.hpp. Bit-exact:
//   out = [every token that stays, in input order] + [package token, when package_en]
//   package[c] = rdiv(sum_j w_j x[j][c], sum_j w_j) over the pruned tokens j, w_j = score_j + 1; all zeros when
//   nothing is pruned. The tokens that stay are the class token, the kept candidates and the package tokens of
//   earlier stages (at the end of the input), so input order is exactly §11.3's order.
//
// Input: s_axis, a frame of n tokens (1 <= n <= N_MAX), each D int8 channels over BEATS = D / PARALLEL beats
// (lane l of beat b is channel b * PARALLEL + l, at bits [8 l +: 8]), tlast on the last beat of the last token.
// s_axis_tuser = {keep, score}, constant over the beats of a token: keep = 1 for a token that stays (topk_select's
// keep bit: class token, kept candidates, protected tail), 0 for a pruned candidate; score = its uint16 score (only
// read for pruned tokens). package_en (0: hard pruning, no package token) is sampled with the first beat of a frame.
// Output: m_axis, the emitted tokens in the same beat layout, tlast on the last beat of the last one;
// m_axis_tuser = {package, source}: source = the token's index in the input frame (the host maps it to its token
// id); package = 1 (source = 0) on the package token. At least one token of a frame must stay (the class token).
//
// Hardware: one pass over the input at one beat per cycle. A pruned beat is accumulated into D per-channel int
// numerators (PARALLEL multiply-adds per cycle: w (uint17) x x (int8)) and its token's weight into the denominator; a
// staying beat goes to a one-beat hold register, which releases the beat before it: the last staying beat is only
// known to be last (tlast, without package token) at the end of the input. After tlast, ceil(D / DIVIDERS) rounds of
// DIVIDERS parallel rdiv divisions (Q_WIDTH = 8: the mean lies within the int8 range of the pruned tokens) write the
// package channels back over their numerators (skipped when nothing was pruned: the numerators are then all zero,
// the package token), then the package token leaves and the accumulators are cleared.
// Timing: the input takes n * BEATS cycles at full rate (no backpressure from m_axis). Then, with the package,
// (D / DIVIDERS) rounds of 9 cycles (rdiv's 8-cycle division + 1; 1 cycle in all when nothing was pruned), BEATS
// cycles for the package token and 1 cycle to clear the accumulators; without it, 2 to 3 cycles. The next frame is
// accepted after that. The first output beat leaves when the second staying beat arrives (the hold register).
// Widths: numerators NUM_WIDTH = SCORE_WIDTH + 8 + clog2(N_MAX) bits (int40 for the contract's 65,535 tokens,
// here as small as the N_MAX allows), denominator DEN_WIDTH = SCORE_WIDTH + 1 + clog2(N_MAX) (uint33 there).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module token_pack #(
    parameter int N_MAX = 256,       // most tokens per input frame
    parameter int D = 192,           // channels per token
    parameter int PARALLEL = 8,      // channels per beat (int8 lanes); divides D
    parameter int DIVIDERS = 8,      // rdiv instances working on channels in parallel; divides D
    parameter int SCORE_WIDTH = 16,  // score width (unsigned; uint16 in the contract)
    // Token index width (derived).
    localparam int IDX_WIDTH = N_MAX > 1 ? $clog2(N_MAX) : 1
) (
    input  wire logic                      clk,
    input  wire logic                      rst,

    input  wire logic                      package_en,     // 1: append the package token (sampled at a frame's start)

    input  wire logic [PARALLEL*8-1:0]     s_axis_tdata,
    input  wire logic                      s_axis_tvalid,
    output wire logic                      s_axis_tready,
    input  wire logic                      s_axis_tlast,
    input  wire logic [SCORE_WIDTH:0]      s_axis_tuser,   // {keep, score}

    output wire logic [PARALLEL*8-1:0]     m_axis_tdata,
    output wire logic                      m_axis_tvalid,
    input  wire logic                      m_axis_tready,
    output wire logic                      m_axis_tlast,
    output wire logic [IDX_WIDTH:0]        m_axis_tuser    // {package, source token index}
);

localparam int BEATS = D / PARALLEL;
localparam int ROUNDS = D / DIVIDERS;
localparam int BEAT_WIDTH = BEATS > 1 ? $clog2(BEATS) : 1;
localparam int ROUND_WIDTH = ROUNDS > 1 ? $clog2(ROUNDS) : 1;
localparam int LOG_N = $clog2(N_MAX);
// |w x| <= 2**(SCORE_WIDTH + 7), summed over at most N_MAX tokens (the extreme -2**(...) included).
localparam int NUM_WIDTH = SCORE_WIDTH + 8 + LOG_N;
// sum w <= N_MAX * 2**SCORE_WIDTH.
localparam int DEN_WIDTH = SCORE_WIDTH + 1 + LOG_N;
localparam int W_WIDTH = SCORE_WIDTH + 1;
// w x in [-2**(SCORE_WIDTH + 7), 127 * 2**SCORE_WIDTH]: a signed SCORE_WIDTH + 8 bit product.
localparam int PROD_WIDTH = SCORE_WIDTH + 8;

// Illegal parameter combinations stop elaboration.
if (N_MAX < 1) begin : g_check_n
    $fatal(1, "token_pack: N_MAX (%0d) must be >= 1", N_MAX);
end
if (D < 1 || PARALLEL < 1 || D % PARALLEL != 0) begin : g_check_parallel
    $fatal(1, "token_pack: PARALLEL (%0d) must divide D (%0d)", PARALLEL, D);
end
if (DIVIDERS < 1 || D % DIVIDERS != 0) begin : g_check_dividers
    $fatal(1, "token_pack: DIVIDERS (%0d) must divide D (%0d)", DIVIDERS, D);
end
if (SCORE_WIDTH < 1) begin : g_check_score
    $fatal(1, "token_pack: SCORE_WIDTH (%0d) must be >= 1", SCORE_WIDTH);
end

typedef enum logic [1:0] {
    S_PASS,  // accepting the frame's tokens
    S_DIV,   // dividing the package channels (the held beat may leave meanwhile)
    S_EMIT,  // the held beat, then the package token
    S_CLEAR  // clearing the accumulators
} state_t;

state_t                               state_reg, state_next;
logic                                 pkg_en_reg, pkg_en_next;
logic [BEAT_WIDTH-1:0]                in_beat_reg, in_beat_next;    // beat within the input token
logic [IDX_WIDTH-1:0]                 in_tok_reg, in_tok_next;      // index of the input token
logic [D-1:0][NUM_WIDTH-1:0]          num_reg, num_next;            // numerators, then the package channels
logic [DEN_WIDTH-1:0]                 den_reg, den_next;
logic [ROUND_WIDTH-1:0]               rnd_reg, rnd_next;            // division round
logic                                 started_reg, started_next;    // this round's divisions are running
logic [DIVIDERS-1:0]                  got_reg, got_next;            // this round's results written back
logic [BEAT_WIDTH-1:0]                out_beat_reg, out_beat_next;  // beat of the package token

// The held staying beat.
logic [PARALLEL*8-1:0]                hold_data_reg, hold_data_next;
logic [IDX_WIDTH-1:0]                 hold_src_reg, hold_src_next;
logic                                 hold_valid_reg, hold_valid_next;

logic [PARALLEL*8-1:0]                m_axis_tdata_reg, m_axis_tdata_next;
logic                                 m_axis_tvalid_reg, m_axis_tvalid_next;
logic                                 m_axis_tlast_reg, m_axis_tlast_next;
logic [IDX_WIDTH:0]                   m_axis_tuser_reg, m_axis_tuser_next;

// The output register can take a beat this cycle.
wire m_free = !m_axis_tvalid_reg || m_axis_tready;

assign s_axis_tready = state_reg == S_PASS && (!hold_valid_reg || m_free);
assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;
assign m_axis_tuser = m_axis_tuser_reg;

// Dividers: divider i works on channel rnd * DIVIDERS + i.
logic                                 div_start;
logic [DIVIDERS-1:0][NUM_WIDTH-1:0]   div_dividend;
logic [DIVIDERS-1:0]                  div_busy;
logic [DIVIDERS-1:0]                  div_done;
logic [DIVIDERS-1:0][7:0]             div_quotient;

for (genvar i = 0; i < DIVIDERS; i++) begin : g_div
    rdiv #(
        .N_WIDTH(NUM_WIDTH),
        .D_WIDTH(DEN_WIDTH),
        .Q_WIDTH(8)
    ) rdiv_inst (
        .clk(clk),
        .rst(rst),
        .start(div_start),
        .dividend(div_dividend[i]),
        .divisor(den_reg),
        .busy(div_busy[i]),
        .done(div_done[i]),
        .quotient(div_quotient[i])
    );
end

// Multiply-add of a pruned beat: lane l accumulates w * x[l] into channel in_beat * PARALLEL + l.
logic                                 in_first;  // the first beat of a frame
logic                                 in_keep;
logic [W_WIDTH-1:0]                   in_w;
logic signed [PROD_WIDTH-1:0]         w_ext;
logic signed [PROD_WIDTH-1:0]         x_ext;
logic signed [PROD_WIDTH-1:0]         prod;
logic [PARALLEL-1:0][NUM_WIDTH-1:0]   acc;

always_comb begin
    in_first = in_tok_reg == '0 && in_beat_reg == '0;
    in_keep = s_axis_tuser[SCORE_WIDTH];
    in_w = W_WIDTH'(s_axis_tuser[SCORE_WIDTH-1:0]) + 1'b1;
    w_ext = PROD_WIDTH'(in_w);
    for (int l = 0; l < PARALLEL; l++) begin
        // w (uint17) x x (int8): the exact product fits PROD_WIDTH bits.
        x_ext = PROD_WIDTH'($signed(s_axis_tdata[8*l +: 8]));
        prod = w_ext * x_ext;
        acc[l] = num_reg[int'(in_beat_reg) * PARALLEL + l] + NUM_WIDTH'(prod);
    end
    div_start = state_reg == S_DIV && !started_reg && den_reg != '0 && div_busy == '0;
    for (int i = 0; i < DIVIDERS; i++) begin
        div_dividend[i] = num_reg[int'(rnd_reg) * DIVIDERS + i];
    end
end

always_comb begin
    state_next = state_reg;
    pkg_en_next = pkg_en_reg;
    in_beat_next = in_beat_reg;
    in_tok_next = in_tok_reg;
    num_next = num_reg;
    den_next = den_reg;
    rnd_next = rnd_reg;
    started_next = started_reg;
    got_next = got_reg;
    out_beat_next = out_beat_reg;
    hold_data_next = hold_data_reg;
    hold_src_next = hold_src_reg;
    hold_valid_next = hold_valid_reg;

    m_axis_tdata_next = m_axis_tdata_reg;
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;
    m_axis_tlast_next = m_axis_tlast_reg;
    m_axis_tuser_next = m_axis_tuser_reg;

    case (state_reg)
        S_PASS: begin
            if (s_axis_tvalid && s_axis_tready) begin
                if (in_first) begin
                    pkg_en_next = package_en;
                end
                if (in_keep) begin
                    // The held beat is not the frame's last: it leaves with tlast = 0.
                    if (hold_valid_reg) begin
                        m_axis_tdata_next = hold_data_reg;
                        m_axis_tvalid_next = 1'b1;
                        m_axis_tlast_next = 1'b0;
                        m_axis_tuser_next = {1'b0, hold_src_reg};
                    end
                    hold_data_next = s_axis_tdata;
                    hold_src_next = in_tok_reg;
                    hold_valid_next = 1'b1;
                end else begin
                    for (int l = 0; l < PARALLEL; l++) begin
                        num_next[int'(in_beat_reg) * PARALLEL + l] = acc[l];
                    end
                    if (in_beat_reg == '0) begin
                        den_next = den_reg + DEN_WIDTH'(in_w);
                    end
                end
                if (int'(in_beat_reg) == BEATS - 1) begin
                    in_beat_next = '0;
                    in_tok_next = in_tok_reg + 1'b1;
                end else begin
                    in_beat_next = in_beat_reg + 1'b1;
                end
                if (s_axis_tlast) begin
                    in_beat_next = '0;
                    in_tok_next = '0;
                    rnd_next = '0;
                    started_next = 1'b0;
                    got_next = '0;
                    out_beat_next = '0;
                    state_next = pkg_en_next ? S_DIV : S_EMIT;
                end
            end
        end
        S_DIV: begin
            if (den_reg == '0) begin
                // Nothing pruned: the numerators are all zero, which is the package token.
                state_next = S_EMIT;
            end else if (!started_reg) begin
                started_next = div_start;
            end else begin
                for (int i = 0; i < DIVIDERS; i++) begin
                    if (div_done[i]) begin
                        num_next[int'(rnd_reg) * DIVIDERS + i] = NUM_WIDTH'($signed(div_quotient[i]));
                        got_next[i] = 1'b1;
                    end
                end
                if (&got_next) begin
                    started_next = 1'b0;
                    got_next = '0;
                    if (int'(rnd_reg) == ROUNDS - 1) begin
                        state_next = S_EMIT;
                    end else begin
                        rnd_next = rnd_reg + 1'b1;
                    end
                end
            end
        end
        S_EMIT: begin
            if (!hold_valid_reg && m_free) begin
                if (!pkg_en_reg) begin
                    state_next = S_CLEAR;
                end else begin
                    for (int l = 0; l < PARALLEL; l++) begin
                        m_axis_tdata_next[8*l +: 8] = num_reg[int'(out_beat_reg) * PARALLEL + l][7:0];
                    end
                    m_axis_tvalid_next = 1'b1;
                    m_axis_tlast_next = int'(out_beat_reg) == BEATS - 1;
                    m_axis_tuser_next = {1'b1, IDX_WIDTH'(0)};
                    out_beat_next = out_beat_reg + 1'b1;
                    if (int'(out_beat_reg) == BEATS - 1) begin
                        state_next = S_CLEAR;
                    end
                end
            end
        end
        default: begin  // S_CLEAR
            for (int c = 0; c < D; c++) begin
                num_next[c] = '0;
            end
            den_next = '0;
            state_next = S_PASS;
        end
    endcase

    // After the input, the held beat is the last staying beat: the frame's last unless a package token follows.
    if (state_reg != S_PASS && hold_valid_reg && m_free) begin
        m_axis_tdata_next = hold_data_reg;
        m_axis_tvalid_next = 1'b1;
        m_axis_tlast_next = !pkg_en_reg;
        m_axis_tuser_next = {1'b0, hold_src_reg};
        hold_valid_next = 1'b0;
    end
end

always_ff @(posedge clk) begin
    state_reg <= state_next;
    pkg_en_reg <= pkg_en_next;
    in_beat_reg <= in_beat_next;
    in_tok_reg <= in_tok_next;
    num_reg <= num_next;
    den_reg <= den_next;
    rnd_reg <= rnd_next;
    started_reg <= started_next;
    got_reg <= got_next;
    out_beat_reg <= out_beat_next;
    hold_data_reg <= hold_data_next;
    hold_src_reg <= hold_src_next;
    hold_valid_reg <= hold_valid_next;
    m_axis_tdata_reg <= m_axis_tdata_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    m_axis_tlast_reg <= m_axis_tlast_next;
    m_axis_tuser_reg <= m_axis_tuser_next;
    if (rst) begin
        state_reg <= S_PASS;
        in_beat_reg <= '0;
        in_tok_reg <= '0;
        for (int c = 0; c < D; c++) begin
            num_reg[c] <= '0;
        end
        den_reg <= '0;
        hold_valid_reg <= 1'b0;
        m_axis_tvalid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
// Contract checks: tlast only at a token's end, at most N_MAX tokens, side-band constant over a token, and a frame
// without package token must keep a token (else it would have no beats and no tlast).
logic [SCORE_WIDTH:0] tok_user_reg;
always_ff @(posedge clk) begin
    if (s_axis_tvalid && s_axis_tready) begin
        tok_user_reg <= s_axis_tuser;
    end
end
always_ff @(posedge clk) begin
    if (!rst && s_axis_tvalid && s_axis_tready) begin
        assert (!s_axis_tlast || int'(in_beat_reg) == BEATS - 1)
        else $error("token_pack: tlast in the middle of a token");
        assert (s_axis_tlast || int'(in_beat_reg) != BEATS - 1 || int'(in_tok_reg) < N_MAX - 1)
        else $error("token_pack: more than N_MAX (%0d) tokens in a frame", N_MAX);
        assert (in_beat_reg == '0 || s_axis_tuser == tok_user_reg)
        else $error("token_pack: s_axis_tuser changed within a token");
    end
    if (!rst && s_axis_tvalid && s_axis_tready && s_axis_tlast) begin
        assert ((in_first ? package_en : pkg_en_reg) || in_keep || hold_valid_reg)
        else $error("token_pack: a frame without package token kept no token");
    end
end
`endif

endmodule : token_pack

`resetall
