// Integer LayerNorm of a stream of tokens: D int8 channels per token in, D int8 channels per token out, PARALLEL
// channels per beat, with one division and one square root per token.
//
// Contract: docs/arithmetic.md §6; golden model spvit.sim.golden.layernorm.layernorm, HLS twin hw/hls/layernorm.hpp.
// Bit-exact:
//   1. c_i = D x_i - S,  S = sum_k x_k                          (exact; C_WIDTH bits)
//   2. V = sum_i c_i**2 + E                                     (computed as D (D Q - S**2) + E, Q = sum_k x_k**2:
//                                                                the same integer, without a second pass)
//   3. r = isqrt(2**62 // V)                                    (udiv.sv, 63 steps, then isqrt.sv, 32 steps)
//   4. z_i = round_shift(c_i r, 16)                             (|c_i r| <= 2**31 since c_i**2 <= V; |z_i| <= 2**15)
//   5. y_i = requantize(z_i G_i + B_i, shift)                   (round_sat.sv; shift = 15 + f_g - f_out)
//
// Streams. s_axis carries the tokens back to back, PARALLEL channels per beat (channel b * PARALLEL + l of a token in
// lane l of its beat b, lane 0 in the low byte), D / PARALLEL beats per token; m_axis carries the results in the same
// layout. tlast is sampled on each token's last beat and comes out on the same token's last beat (the end of a
// sequence); tlast on any other beat is ignored. A stream must be a whole number of tokens.
//
// Parameters G (int16) and B (int32) per channel come from an external memory through a read port with the timing of
// a block RAM with an enable: the module drives param_addr (the beat index within the token; word a holds channels
// a * PARALLEL .. a * PARALLEL + PARALLEL - 1, lane l in the l-th field) and param_en, and the memory returns that
// word on param_gamma/param_beta in the cycle after a clock edge with param_en high, holding it while param_en is low.
// The encoder block backs the port with a BRAM written over AXI (or adds a base address to share one BRAM between
// several norms). eps_term (E, in units of V, >= 1) and shift are run-time inputs; they and the memory contents are
// quasi-static: change them only while no token is in flight (after the last output of a sequence).
//
// Architecture. BUFFERS token buffers (a ring): the loader writes a token's beats into the next free buffer and
// accumulates S and Q; a V stage forms V; one udiv and one isqrt (a two-stage pipeline: the square root of token
// n runs under the division of token n + 1) give r -- DIVIDERS such pairs take tokens in turn, for short tokens whose
// beats would otherwise wait for the divider; the output pass reads the buffer at PARALLEL channels per cycle
// through a 4-register pipeline (buffer/parameter read, c r, z G + B, requantize) into the output register. All of
// these overlap across tokens.
//   Throughput (tokens back to back, no backpressure), cycles per token (measured by the testbench):
//     max(BEATS, 3, 64 / DIVIDERS, (2 BEATS + 101) / BUFFERS)        BEATS = D / PARALLEL
//   (the loader and the output pass take a cycle per beat, the V stage 3 cycles per token; a divider 64 cycles per
//   token; a buffer is held from its first input beat until its last beat is read, and taken again 2 BEATS + 101
//   cycles after it was first written). D=16/P=4 and D=64/P=8: 64 with 2 buffers; D=384/P=16: 74.5 with 2, 64 with 3;
//   D=768/P=8: 146.5 with 2, 98 with 3, 96 with 4; D=64/P=8 with 4 dividers and 8 buffers: 16.
//   Latency: the first output beat of a token is valid about 106 cycles after its last input beat was accepted
//   (S and Q 2, V 2, divider 64, square root 33, output pipeline 5).
// Flow control: s_axis_tready is high while the buffer being loaded is free. The output pipeline stalls as a whole
// while m_axis_tvalid && !m_axis_tready (param_en falls with it, so the parameter memory holds its word too).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module layernorm #(
    parameter int D = 16,           // channels per token (<= 768: the widths of docs/arithmetic.md §6)
    parameter int PARALLEL = 4,     // channels per beat; divides D
    parameter int EPS_WIDTH = 41,   // width of the unsigned eps_term port (E in [1, 2**40] in a bundle; <= 48)
    parameter int SHIFT_WIDTH = 7,  // width of the signed shift port (7 holds §6's [-9, 39])
    parameter int BUFFERS = 2,      // token buffers (>= 2): see the throughput formula above
    parameter int DIVIDERS = 1      // division + square-root units taking tokens in turn (>= 1; <= BUFFERS)
) (
    input  wire logic                                 clk,
    input  wire logic                                 rst,

    input  wire logic        [EPS_WIDTH-1:0]          eps_term,  // E >= 1 (quasi-static)
    input  wire logic signed [SHIFT_WIDTH-1:0]        shift,     // 15 + f_g - f_out (quasi-static)

    // parameter memory read port: one-cycle read latency, data held while param_en is low
    output wire logic                                 param_en,
    output wire logic        [(D/PARALLEL > 1 ? $clog2(D/PARALLEL) : 1)-1:0] param_addr,  // beat index
    input  wire logic        [PARALLEL-1:0][15:0]     param_gamma,  // G, int16 per lane
    input  wire logic        [PARALLEL-1:0][31:0]     param_beta,   // B, int32 per lane

    input  wire logic        [PARALLEL-1:0][7:0]      s_axis_tdata,
    input  wire logic                                 s_axis_tvalid,
    output wire logic                                 s_axis_tready,
    input  wire logic                                 s_axis_tlast,

    output wire logic        [PARALLEL-1:0][7:0]      m_axis_tdata,
    output wire logic                                 m_axis_tvalid,
    input  wire logic                                 m_axis_tready,
    output wire logic                                 m_axis_tlast
);

// Beats per token and the index widths.
localparam int BEATS = D / PARALLEL;
localparam int BEAT_WIDTH = BEATS > 1 ? $clog2(BEATS) : 1;
localparam int SLOT_WIDTH = $clog2(BUFFERS);
localparam int UNIT_WIDTH = DIVIDERS > 1 ? $clog2(DIVIDERS) : 1;
localparam int LOG_D = $clog2(D);
// S = sum x in [-128 D, 127 D]; Q = sum x**2 <= 2**14 D; c = D x - S, |c| <= 255 (D - 1).
localparam int SUM_WIDTH = $clog2(128 * D) + 1;
localparam int SQ_WIDTH = 15 + LOG_D;
localparam int C_WIDTH = $clog2(255 * D) + 1;
// T = D Q - S**2 = sum (x - mean)**2 D, in [0, 2**14 D**2]; V = D T + E < 2**(14 + 3 log2 D) + 2**EPS_WIDTH.
localparam int T_WIDTH = 15 + 2 * LOG_D;
localparam int V0_WIDTH = 15 + 3 * LOG_D;
localparam int V_WIDTH = (V0_WIDTH > EPS_WIDTH ? V0_WIDTH : EPS_WIDTH) + 1;
// 2**62 // V < 2**63 (2**62 for V = 1); r = isqrt of it <= 2**31.
localparam int RECIP_WIDTH = 63;
localparam int R_WIDTH = 32;
// c r is within [-2**31, 2**31] (c**2 <= V); z in [-2**15, 2**15]; z G + B within +-(2**30 + 2**31).
localparam int P_WIDTH = 33;
localparam int Z_WIDTH = 18;
localparam int A_WIDTH = 34;
// start -> done of the divider and of the square root (udiv.sv, isqrt.sv): the square root of one token must end
// before the division of the next one does, which is what lets the divider's done start the square root directly.
localparam int DIV_LATENCY = RECIP_WIDTH + 1;
localparam int SQRT_LATENCY = (RECIP_WIDTH + 1) / 2 + 1;

if (D < 1 || PARALLEL < 1 || D % PARALLEL != 0) begin : g_check_d
    $fatal(1, "layernorm: PARALLEL (%0d) must divide D (%0d)", PARALLEL, D);
end
if (D > 768) begin : g_check_dmax
    $fatal(1, "layernorm: D (%0d) above 768, the limit of the widths of docs/arithmetic.md section 6", D);
end
if (EPS_WIDTH < 1 || EPS_WIDTH > 48) begin : g_check_eps
    $fatal(1, "layernorm: EPS_WIDTH (%0d) must be in [1, 48]", EPS_WIDTH);
end
if (SHIFT_WIDTH < 2 || SHIFT_WIDTH > 16) begin : g_check_shift
    $fatal(1, "layernorm: SHIFT_WIDTH (%0d) must be in [2, 16]", SHIFT_WIDTH);
end
if (BUFFERS < 2) begin : g_check_buffers
    $fatal(1, "layernorm: BUFFERS (%0d) must be >= 2", BUFFERS);
end
if (DIVIDERS < 1 || DIVIDERS > BUFFERS) begin : g_check_dividers
    $fatal(1, "layernorm: DIVIDERS (%0d) must be in [1, BUFFERS (%0d)]", DIVIDERS, BUFFERS);
end
if (SQRT_LATENCY >= DIV_LATENCY) begin : g_check_latency
    $fatal(1, "layernorm: the square root must be shorter than the division");
end

// Buffer states: a buffer goes FREE -> FULL (loaded, S and Q known) -> BUSY (V formed, r in the making) -> READY (r
// known) -> FREE (its last beat read). Each transition needs the buffer in the state before, so at most one stage
// writes a buffer's state in any cycle.
typedef enum logic [1:0] {
    FREE = 2'd0,
    FULL = 2'd1,
    BUSY = 2'd2,
    READY = 2'd3
} slot_state_t;

function automatic logic [SLOT_WIDTH-1:0] next_slot(input logic [SLOT_WIDTH-1:0] slot);
    return slot == SLOT_WIDTH'(BUFFERS - 1) ? '0 : slot + 1'b1;
endfunction

// ---- token buffers (one memory: BUFFERS regions of 2**BEAT_WIDTH words of PARALLEL channels) -------------------

logic [PARALLEL*8-1:0] xbuf [BUFFERS << BEAT_WIDTH];

// Per-buffer registers.
logic [BUFFERS-1:0][1:0]             state_reg, state_next;
logic [BUFFERS-1:0][SUM_WIDTH-1:0]   slot_sum_reg, slot_sum_next;
logic [BUFFERS-1:0][SQ_WIDTH-1:0]    slot_sq_reg, slot_sq_next;
logic [BUFFERS-1:0]                  slot_last_reg, slot_last_next;
logic [BUFFERS-1:0][R_WIDTH-1:0]     slot_r_reg, slot_r_next;

// ---- load: write the beat into the buffer; one register, then accumulate S and Q -----------------------------

logic [SLOT_WIDTH-1:0] ld_slot_reg, ld_slot_next;
logic [BEAT_WIDTH-1:0] ld_beat_reg, ld_beat_next;
logic                  ld_accept;

logic                       st_valid_reg, st_valid_next;
logic [PARALLEL-1:0][7:0]   st_data_reg, st_data_next;
logic                       st_first_reg, st_first_next;
logic                       st_end_reg, st_end_next;
logic                       st_last_reg, st_last_next;
logic [SLOT_WIDTH-1:0]      st_slot_reg, st_slot_next;
logic [SUM_WIDTH-1:0]       acc_sum_reg, acc_sum_next;
logic [SQ_WIDTH-1:0]        acc_sq_reg, acc_sq_next;
logic signed [SUM_WIDTH-1:0] beat_sum;
logic [SQ_WIDTH-1:0]        beat_sq;
logic signed [15:0]         lane_x;  // one channel, widened so that its square is exact

assign s_axis_tready = state_reg[ld_slot_reg] == FREE;
assign ld_accept = s_axis_tvalid && s_axis_tready;

always_comb begin
    ld_slot_next = ld_slot_reg;
    ld_beat_next = ld_beat_reg;
    st_valid_next = ld_accept;
    st_data_next = s_axis_tdata;
    st_first_next = ld_beat_reg == '0;
    st_end_next = ld_beat_reg == BEAT_WIDTH'(BEATS - 1);
    st_last_next = s_axis_tlast;
    st_slot_next = ld_slot_reg;
    if (ld_accept) begin
        if (ld_beat_reg == BEAT_WIDTH'(BEATS - 1)) begin
            ld_beat_next = '0;
            ld_slot_next = next_slot(ld_slot_reg);
        end else begin
            ld_beat_next = ld_beat_reg + 1'b1;
        end
    end

    beat_sum = '0;
    beat_sq = '0;
    for (int l = 0; l < PARALLEL; l++) begin
        lane_x = 16'($signed(st_data_reg[l]));
        beat_sum = beat_sum + SUM_WIDTH'(lane_x);
        beat_sq = beat_sq + SQ_WIDTH'($unsigned(lane_x * lane_x));
    end
    acc_sum_next = (st_first_reg ? '0 : acc_sum_reg) + beat_sum;
    acc_sq_next = (st_first_reg ? '0 : acc_sq_reg) + beat_sq;
    if (!st_valid_reg) begin
        acc_sum_next = acc_sum_reg;
        acc_sq_next = acc_sq_reg;
    end
end

always_ff @(posedge clk) begin
    if (ld_accept) begin
        xbuf[{ld_slot_reg, ld_beat_reg}] <= s_axis_tdata;
    end
end

// ---- V stage: T = D Q - S**2, then V = D T + E, then hand V to the divider ------------------------------------------

typedef enum logic [1:0] {
    VS_IDLE = 2'd0,
    VS_T = 2'd1,
    VS_V = 2'd2
} vs_state_t;

vs_state_t                   vs_state_reg, vs_state_next;
logic [SLOT_WIDTH-1:0]       vs_slot_reg, vs_slot_next;
logic [T_WIDTH-1:0]          t_reg, t_next;
logic [V_WIDTH-1:0]          v_reg, v_next;
logic signed [T_WIDTH-1:0]   vs_sum;  // S, widened so that its square is exact

// Division + square-root units: unit u works for the slot in div_slot_reg[u] / sqrt_slot_reg[u]; the V stage hands
// tokens to the units in turn (vs_unit_reg), so each unit sees its tokens in order.
logic [UNIT_WIDTH-1:0]                    vs_unit_reg, vs_unit_next;
logic [DIVIDERS-1:0][SLOT_WIDTH-1:0]      div_slot_reg, div_slot_next;
logic [DIVIDERS-1:0][SLOT_WIDTH-1:0]      sqrt_slot_reg, sqrt_slot_next;
logic [DIVIDERS-1:0]                      div_start;
logic [DIVIDERS-1:0]                      div_busy;
logic [DIVIDERS-1:0]                      div_done;
logic [DIVIDERS-1:0][RECIP_WIDTH-1:0]     div_quotient;
logic [DIVIDERS-1:0]                      sqrt_busy;
logic [DIVIDERS-1:0]                      sqrt_done;
logic [DIVIDERS-1:0][R_WIDTH-1:0]         sqrt_root;

always_comb begin
    vs_state_next = vs_state_reg;
    vs_slot_next = vs_slot_reg;
    vs_unit_next = vs_unit_reg;
    t_next = t_reg;
    v_next = v_reg;
    div_slot_next = div_slot_reg;
    div_start = '0;
    vs_sum = T_WIDTH'($signed(slot_sum_reg[vs_slot_reg]));
    case (vs_state_reg)
        VS_IDLE: begin
            if (state_reg[vs_slot_reg] == FULL) begin
                // Cauchy-Schwarz: S**2 <= D Q, so T >= 0.
                t_next = T_WIDTH'(T_WIDTH'(D) * T_WIDTH'(slot_sq_reg[vs_slot_reg])
                                  - T_WIDTH'($unsigned(vs_sum * vs_sum)));
                vs_state_next = VS_T;
            end
        end
        VS_T: begin
            v_next = V_WIDTH'(V_WIDTH'(D) * V_WIDTH'(t_reg)) + V_WIDTH'(eps_term);
            vs_state_next = VS_V;
        end
        default: begin
            // udiv takes a start in its done cycle too: back-to-back divisions
            if (!div_busy[vs_unit_reg]) begin
                div_start[vs_unit_reg] = 1'b1;
                div_slot_next[vs_unit_reg] = vs_slot_reg;
                vs_slot_next = next_slot(vs_slot_reg);
                vs_unit_next = vs_unit_reg == UNIT_WIDTH'(DIVIDERS - 1) ? '0 : vs_unit_reg + 1'b1;
                vs_state_next = VS_IDLE;
            end
        end
    endcase
    for (int u = 0; u < DIVIDERS; u++) begin
        sqrt_slot_next[u] = div_done[u] ? div_slot_reg[u] : sqrt_slot_reg[u];
    end
end

for (genvar u = 0; u < DIVIDERS; u++) begin : g_unit
    udiv #(
        .N_WIDTH(RECIP_WIDTH),
        .D_WIDTH(V_WIDTH),
        .Q_WIDTH(RECIP_WIDTH)
    ) udiv_inst (
        .clk(clk),
        .rst(rst),
        .start(div_start[u]),
        .dividend(RECIP_WIDTH'(1) << 62),
        .divisor(v_reg),
        .busy(div_busy[u]),
        .done(div_done[u]),
        .quotient(div_quotient[u])
    );

    // The quotient is held until the next division starts, and the square root samples it at its start, in the
    // done cycle; the square root is idle then (SQRT_LATENCY < DIV_LATENCY).
    isqrt #(
        .N_WIDTH(RECIP_WIDTH)
    ) isqrt_inst (
        .clk(clk),
        .rst(rst),
        .start(div_done[u]),
        .radicand(div_quotient[u]),
        .busy(sqrt_busy[u]),
        .done(sqrt_done[u]),
        .root(sqrt_root[u])
    );
end

// ---- output pass: read -> c r -> z G + B -> requantize -> m_axis -----------------------------------------------

logic [SLOT_WIDTH-1:0] rd_slot_reg, rd_slot_next;
logic [BEAT_WIDTH-1:0] rd_beat_reg, rd_beat_next;
logic                  adv;    // the whole output pipeline moves
logic                  issue;  // a beat enters it

// stage 1: buffer word (registered memory read) and the token's S and r
logic [PARALLEL-1:0][7:0]       x_rd_reg;
logic                           s1_valid_reg, s1_valid_next;
logic                           s1_last_reg, s1_last_next;
logic [SUM_WIDTH-1:0]           s1_sum_reg, s1_sum_next;
logic [R_WIDTH-1:0]             s1_r_reg, s1_r_next;
// stage 2: c r, and the parameter word; stage 3: z G + B; then the output register (data registers per lane, in
// g_lane below)
logic                           s2_valid_reg;
logic                           s2_last_reg;
logic                           s3_valid_reg;
logic                           s3_last_reg;
logic                           m_axis_tvalid_reg;
logic                           m_axis_tlast_reg;

assign adv = !m_axis_tvalid_reg || m_axis_tready;
assign issue = adv && state_reg[rd_slot_reg] == READY;
assign param_en = adv;
assign param_addr = rd_beat_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;

always_comb begin
    rd_slot_next = rd_slot_reg;
    rd_beat_next = rd_beat_reg;
    s1_valid_next = issue;
    s1_last_next = issue && slot_last_reg[rd_slot_reg] && rd_beat_reg == BEAT_WIDTH'(BEATS - 1);
    s1_sum_next = slot_sum_reg[rd_slot_reg];
    s1_r_next = slot_r_reg[rd_slot_reg];
    if (issue) begin
        if (rd_beat_reg == BEAT_WIDTH'(BEATS - 1)) begin
            rd_beat_next = '0;
            rd_slot_next = next_slot(rd_slot_reg);
        end else begin
            rd_beat_next = rd_beat_reg + 1'b1;
        end
    end
end

always_ff @(posedge clk) begin
    if (adv) begin
        x_rd_reg <= xbuf[{rd_slot_reg, rd_beat_reg}];
    end
end

for (genvar l = 0; l < PARALLEL; l++) begin : g_lane
    logic signed [C_WIDTH-1:0] c;
    logic signed [P_WIDTH-1:0] prod_reg, prod_next;    // stage 2: c r
    logic        [15:0]        gamma_reg;              // stage 2: G
    logic        [31:0]        beta_reg;               // stage 2: B
    logic signed [Z_WIDTH-1:0] z;
    logic signed [A_WIDTH-1:0] aff_reg, aff_next;      // stage 3: z G + B
    logic        [7:0]         y;
    logic        [7:0]         y_reg;                  // output register

    always_comb begin
        // 1. c = D x - S
        c = C_WIDTH'(C_WIDTH'(D) * C_WIDTH'($signed(x_rd_reg[l]))) - C_WIDTH'($signed(s1_sum_reg));
        // c r, with r as a non-negative signed operand: |c r| <= 2**31, so the low P_WIDTH bits are exact
        prod_next = P_WIDTH'(c) * P_WIDTH'($signed({1'b0, s1_r_reg}));
        // 4. z = round_shift(c r, 16): round half up
        z = Z_WIDTH'((prod_reg + P_WIDTH'(1 << 15)) >>> 16);
        // 5. z G + B
        aff_next = A_WIDTH'(z) * A_WIDTH'($signed(gamma_reg)) + A_WIDTH'($signed(beta_reg));
    end

    // requantize(z G + B, shift)
    round_sat #(
        .IN_WIDTH(A_WIDTH),
        .OUT_WIDTH(8),
        .SHIFT_WIDTH(SHIFT_WIDTH),
        .SIGNED_OUT(1)
    ) round_sat_inst (
        .in(aff_reg),
        .shift(shift),
        .out(y)
    );

    always_ff @(posedge clk) begin
        if (adv) begin
            prod_reg <= prod_next;
            gamma_reg <= param_gamma[l];
            beta_reg <= param_beta[l];
            aff_reg <= aff_next;
            y_reg <= y;
        end
    end

    assign m_axis_tdata[l] = y_reg;
end

// ---- state -------------------------------------------------------------------------------------------------------

always_comb begin
    state_next = state_reg;
    slot_sum_next = slot_sum_reg;
    slot_sq_next = slot_sq_reg;
    slot_last_next = slot_last_reg;
    slot_r_next = slot_r_reg;
    // loader: the token's last beat accumulated
    if (st_valid_reg && st_end_reg) begin
        state_next[st_slot_reg] = FULL;
        slot_sum_next[st_slot_reg] = acc_sum_next;
        slot_sq_next[st_slot_reg] = acc_sq_next;
        slot_last_next[st_slot_reg] = st_last_reg;
    end
    // V stage: took the buffer's S and Q
    if (vs_state_reg == VS_IDLE && state_reg[vs_slot_reg] == FULL) begin
        state_next[vs_slot_reg] = BUSY;
    end
    // square roots done: r known (units work for different slots)
    for (int u = 0; u < DIVIDERS; u++) begin
        if (sqrt_done[u]) begin
            state_next[sqrt_slot_reg[u]] = READY;
            slot_r_next[sqrt_slot_reg[u]] = sqrt_root[u];
        end
    end
    // output pass: the buffer's last beat read
    if (issue && rd_beat_reg == BEAT_WIDTH'(BEATS - 1)) begin
        state_next[rd_slot_reg] = FREE;
    end
end

always_ff @(posedge clk) begin
    state_reg <= state_next;
    slot_sum_reg <= slot_sum_next;
    slot_sq_reg <= slot_sq_next;
    slot_last_reg <= slot_last_next;
    slot_r_reg <= slot_r_next;

    ld_slot_reg <= ld_slot_next;
    ld_beat_reg <= ld_beat_next;
    st_valid_reg <= st_valid_next;
    st_data_reg <= st_data_next;
    st_first_reg <= st_first_next;
    st_end_reg <= st_end_next;
    st_last_reg <= st_last_next;
    st_slot_reg <= st_slot_next;
    acc_sum_reg <= acc_sum_next;
    acc_sq_reg <= acc_sq_next;

    vs_state_reg <= vs_state_next;
    vs_slot_reg <= vs_slot_next;
    vs_unit_reg <= vs_unit_next;
    t_reg <= t_next;
    v_reg <= v_next;
    div_slot_reg <= div_slot_next;
    sqrt_slot_reg <= sqrt_slot_next;

    rd_slot_reg <= rd_slot_next;
    rd_beat_reg <= rd_beat_next;
    if (adv) begin
        s1_valid_reg <= s1_valid_next;
        s1_last_reg <= s1_last_next;
        s1_sum_reg <= s1_sum_next;
        s1_r_reg <= s1_r_next;
        s2_valid_reg <= s1_valid_reg;
        s2_last_reg <= s1_last_reg;
        s3_valid_reg <= s2_valid_reg;
        s3_last_reg <= s2_last_reg;
        m_axis_tvalid_reg <= s3_valid_reg;
        m_axis_tlast_reg <= s3_last_reg;
    end

    if (rst) begin
        state_reg <= '0;
        ld_slot_reg <= '0;
        ld_beat_reg <= '0;
        st_valid_reg <= 1'b0;
        vs_state_reg <= VS_IDLE;
        vs_slot_reg <= '0;
        vs_unit_reg <= '0;
        rd_slot_reg <= '0;
        rd_beat_reg <= '0;
        s1_valid_reg <= 1'b0;
        s2_valid_reg <= 1'b0;
        s3_valid_reg <= 1'b0;
        m_axis_tvalid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst) begin
        assert (!(|(div_done & sqrt_busy)))
            else $error("layernorm: square root still busy when the next division ended");
        assert (!(vs_state_reg == VS_T && eps_term == '0)) else $error("layernorm: eps_term must be >= 1");
    end
end
`endif

endmodule : layernorm

`resetall
