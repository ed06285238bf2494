// Adaptive Sparse ViT keep scores: the class-attention rows of H heads, weighted by head importance, averaged.
//
// Contract: docs/arithmetic.md §8.1; golden model spvit.sim.golden.scoring.asvit_score, HLS twin asvit_score in
// hw/hls/attention.hpp. Bit-exact, per image:
//   n_h = isqrt(sum_c ctx[h, 0, c]**2)                 (isqrt.sv; the L2 norm of head h's class-token context)
//   if every n_h is 0, every head weighs 1
//   score_j = rdiv(sum_h n_h p16[h, 0, j], sum_h n_h)  (rdiv.sv, one division per token) -> uint16 at frac 16
//
// Streams (one image at a time; the two inputs are taken independently, in any interleaving):
//   s_axis_ctx  the class token's context of each head (attention.sv's first m_axis token): one beat per head,
//               heads 0 .. H-1, DH int8 lanes (lane c at [8c+7 : 8c]), tlast on head H-1.
//   s_axis_p16  the class-attention rows (attention.sv's m_axis_cls): head 0's n values, then head 1's, ...; tlast
//               ends each head's row. n (1 <= n <= N_MAX) is the rows' length; every head's row has the same n.
//   m_axis      score_j for j = 0 .. n-1, one uint16 per beat, tlast on j = n-1.
//
// Hardware. Each context beat's energy sum_c ctx**2 is formed SQ_LANES squares per cycle (DH/SQ_LANES cycles), then
// starts the square root (RW + 1 cycles; the next head's energy overlaps it); all of it overlaps the p16 rows,
// which go into H buffers of N_MAX uint16, one value per cycle. Once both inputs of the image are complete: one
// cycle for sum_h n_h, then per token an H-wide weighted sum (H multiplies, one read of every buffer) starts one of
// DIVIDERS rdiv units in turn; results leave in token order. One divider gives a score every 20 cycles (Q_WIDTH = 17
// plus 3 of hand-over); DIVIDERS of them one every ceil(20 / DIVIDERS) cycles. The next image is taken once the
// last score has left the dividers.
//
// Widths: energy <= DH 2**14 (15 + clog2(DH) bits); n_h < 2**(RW) with RW = (energy width + 1) / 2; the
// numerator < H 2**(RW+16), the denominator <= H 2**RW; score <= 65,535 (a rounded weighted mean of uint16 values).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module asvit_score #(
    parameter int N_MAX = 67,    // most tokens per image (p16 buffer depth)
    parameter int DH = 16,       // channels per head (d_head)
    parameter int H = 4,         // heads
    parameter int DIVIDERS = 1,  // rdiv units working on consecutive tokens in turn
    parameter int SQ_LANES = 4   // context lanes squared per cycle for the head energy; divides DH
) (
    input  wire logic               clk,
    input  wire logic               rst,

    input  wire logic [DH*8-1:0]    s_axis_ctx_tdata,
    input  wire logic               s_axis_ctx_tvalid,
    output wire logic               s_axis_ctx_tready,
    input  wire logic               s_axis_ctx_tlast,

    input  wire logic [15:0]        s_axis_p16_tdata,
    input  wire logic               s_axis_p16_tvalid,
    output wire logic               s_axis_p16_tready,
    input  wire logic               s_axis_p16_tlast,

    output wire logic [15:0]        m_axis_tdata,
    output wire logic               m_axis_tvalid,
    input  wire logic               m_axis_tready,
    output wire logic               m_axis_tlast
);

localparam int E_WIDTH = 15 + $clog2(DH);                  // sum of DH squares of int8, <= DH 2**14
localparam int RW = (E_WIDTH + 1) / 2;                     // n_h
localparam int HC_WIDTH = $clog2(H + 1);                   // counts 0 .. H
localparam int H_WIDTH = H > 1 ? $clog2(H) : 1;
localparam int DEN_WIDTH = RW + HC_WIDTH;                  // sum_h n_h
localparam int NUM_WIDTH = RW + 16 + HC_WIDTH + 1;         // sum_h n_h p16, signed for rdiv
localparam int Q_WIDTH = 17;                               // rdiv result (signed) <= 65,535
localparam int ADDR_WIDTH = N_MAX > 1 ? $clog2(N_MAX) : 1;
localparam int CNT_WIDTH = $clog2(N_MAX + 1);
localparam int D_WIDTH = DIVIDERS > 1 ? $clog2(DIVIDERS) : 1;
localparam int SQ_GROUPS = DH / SQ_LANES;                  // cycles per head energy
localparam int SG_WIDTH = SQ_GROUPS > 1 ? $clog2(SQ_GROUPS) : 1;

if (N_MAX < 1 || N_MAX > 65535) begin : g_check_n
    $fatal(1, "asvit_score: N_MAX (%0d) must be in [1, 65535]", N_MAX);
end
if (H < 1 || DH < 1) begin : g_check_heads
    $fatal(1, "asvit_score: need H >= 1 and DH >= 1, got H %0d, DH %0d", H, DH);
end
if (DIVIDERS < 1 || DIVIDERS > 32) begin : g_check_dividers
    $fatal(1, "asvit_score: DIVIDERS (%0d) must be in [1, 32]", DIVIDERS);
end
if (SQ_LANES < 1 || DH % SQ_LANES != 0) begin : g_check_sq
    $fatal(1, "asvit_score: SQ_LANES (%0d) must divide DH (%0d)", SQ_LANES, DH);
end

typedef enum logic [1:0] {COLLECT, NORM, SCORE} state_t;

state_t               state_reg, state_next;

// ---- class contexts -> head importance -----------------------------------------------------------------------------
logic [HC_WIDTH-1:0]  ctx_count_reg, ctx_count_next;     // context beats taken
logic [HC_WIDTH-1:0]  root_count_reg, root_count_next;   // square roots finished
logic [RW-1:0]        weight_reg [H];
logic                 ctx_fire;
// energy unit: the taken beat, squared SQ_LANES lanes per cycle
logic [DH*8-1:0]      ctx_hold_reg;
logic                 sq_active_reg;
logic [SG_WIDTH-1:0]  sq_group_reg;
logic                 sq_last;
logic [E_WIDTH-1:0]   energy_reg;
logic [E_WIDTH-1:0]   group_energy;
logic                 energy_ready_reg;                  // energy_reg waits for the square root
logic                 sqrt_start, sqrt_busy, sqrt_done;
logic [RW-1:0]        sqrt_root;

assign s_axis_ctx_tready = state_reg == COLLECT && ctx_count_reg < HC_WIDTH'(H) && !sq_active_reg
    && !energy_ready_reg;
assign ctx_fire = s_axis_ctx_tvalid && s_axis_ctx_tready;
assign sq_last = sq_group_reg == SG_WIDTH'(SQ_GROUPS - 1);
assign sqrt_start = energy_ready_reg && !sqrt_busy;

always_comb begin
    group_energy = '0;
    for (int l = 0; l < SQ_LANES; l++) begin
        group_energy = group_energy + E_WIDTH'($signed(ctx_hold_reg[(int'(sq_group_reg) * SQ_LANES + l) * 8 +: 8])
            * $signed(ctx_hold_reg[(int'(sq_group_reg) * SQ_LANES + l) * 8 +: 8]));
    end
end

always_ff @(posedge clk) begin
    if (ctx_fire) begin
        ctx_hold_reg <= s_axis_ctx_tdata;
        sq_active_reg <= 1'b1;
        sq_group_reg <= '0;
        energy_reg <= '0;
    end
    if (sq_active_reg) begin
        energy_reg <= energy_reg + group_energy;
        sq_group_reg <= sq_group_reg + 1'b1;
        if (sq_last) begin
            sq_active_reg <= 1'b0;
            energy_ready_reg <= 1'b1;
        end
    end
    if (sqrt_start) begin
        energy_ready_reg <= 1'b0;
    end
    if (rst) begin
        sq_active_reg <= 1'b0;
        energy_ready_reg <= 1'b0;
    end
end

isqrt #(
    .N_WIDTH(E_WIDTH)
) head_norm (
    .clk(clk),
    .rst(rst),
    .start(sqrt_start),
    .radicand(energy_reg),
    .busy(sqrt_busy),
    .done(sqrt_done),
    .root(sqrt_root)
);

always_ff @(posedge clk) begin
    // one square root in flight at a time, so the finished one belongs to head root_count
    if (sqrt_done) begin
        weight_reg[H_WIDTH'(root_count_reg)] <= sqrt_root;
    end
end

// ---- class-attention rows -> H buffers -----------------------------------------------------------------------------
logic [HC_WIDTH-1:0]  row_count_reg, row_count_next;     // p16 rows complete
logic [CNT_WIDTH-1:0] col_reg, col_next;                 // position in the current row
logic [CNT_WIDTH-1:0] n_reg, n_next;
logic                 p16_fire;
logic [15:0]          p16_rd [H];

assign s_axis_p16_tready = state_reg == COLLECT && row_count_reg < HC_WIDTH'(H);
assign p16_fire = s_axis_p16_tvalid && s_axis_p16_tready;

// ---- scoring -------------------------------------------------------------------------------------------------------
logic                      use_ones_reg, use_ones_next;   // every n_h is 0: all heads weigh 1
logic [DEN_WIDTH-1:0]      den_reg, den_next;
logic [DEN_WIDTH-1:0]      weight_sum;
logic [CNT_WIDTH-1:0]      issue_count_reg, issue_count_next;
logic [CNT_WIDTH-1:0]      out_count_reg, out_count_next;
logic [D_WIDTH-1:0]        issue_ptr_reg, issue_ptr_next; // divider of the next token to start
logic [D_WIDTH-1:0]        out_ptr_reg, out_ptr_next;     // divider of the next token to leave
logic [DIVIDERS-1:0]       occupied_reg, occupied_next;   // divider holds a token not yet out
logic [DIVIDERS-1:0]       ready_reg, ready_next;         // divider's quotient is valid
logic                      claim;                         // read the next token's p16 column
logic                      st_valid_reg;                  // its weighted sum starts divider st_div
logic [D_WIDTH-1:0]        st_div_reg;
logic signed [NUM_WIDTH-1:0] num;
logic [DIVIDERS-1:0]       div_start, div_done;
logic [DIVIDERS-1:0][Q_WIDTH-1:0] div_quotient;
logic                      take;                          // a finished score into the output register

logic [15:0]               m_axis_tdata_reg;
logic                      m_axis_tvalid_reg, m_axis_tvalid_next;
logic                      m_axis_tlast_reg;

assign claim = state_reg == SCORE && issue_count_reg < n_reg && !occupied_reg[issue_ptr_reg];
assign take = state_reg == SCORE && ready_reg[out_ptr_reg] && (!m_axis_tvalid_reg || m_axis_tready);

for (genvar h = 0; h < H; h++) begin : g_head
    logic [15:0] mem [N_MAX];

    always_ff @(posedge clk) begin
        if (p16_fire && row_count_reg == HC_WIDTH'(h) && col_reg < CNT_WIDTH'(N_MAX)) begin
            mem[ADDR_WIDTH'(col_reg)] <= s_axis_p16_tdata;
        end
        if (claim) begin
            p16_rd[h] <= mem[ADDR_WIDTH'(issue_count_reg)];
        end
    end
end

always_comb begin
    weight_sum = '0;
    for (int h = 0; h < H; h++) begin
        weight_sum = weight_sum + DEN_WIDTH'(weight_reg[h]);
    end
    num = '0;
    for (int h = 0; h < H; h++) begin
        num = num + NUM_WIDTH'((RW + 16)'(use_ones_reg ? RW'(1) : weight_reg[h]) * (RW + 16)'(p16_rd[h]));
    end
end

for (genvar d = 0; d < DIVIDERS; d++) begin : g_div
    logic busy;

    assign div_start[d] = st_valid_reg && st_div_reg == D_WIDTH'(d);

    rdiv #(
        .N_WIDTH(NUM_WIDTH),
        .D_WIDTH(DEN_WIDTH),
        .Q_WIDTH(Q_WIDTH)
    ) score_div (
        .clk(clk),
        .rst(rst),
        .start(div_start[d]),
        .dividend(num),
        .divisor(den_reg),
        .busy(busy),
        .done(div_done[d]),
        .quotient(div_quotient[d])
    );

`ifndef SYNTHESIS
    always_ff @(posedge clk) begin
        if (!rst && div_start[d]) begin
            assert (!busy) else $error("asvit_score: divider %0d started while busy", d);
        end
    end
`endif
end

// ---- control -------------------------------------------------------------------------------------------------------
always_comb begin
    state_next = state_reg;
    ctx_count_next = ctx_count_reg;
    root_count_next = root_count_reg;
    row_count_next = row_count_reg;
    col_next = col_reg;
    n_next = n_reg;
    use_ones_next = use_ones_reg;
    den_next = den_reg;
    issue_count_next = issue_count_reg;
    out_count_next = out_count_reg;
    issue_ptr_next = issue_ptr_reg;
    out_ptr_next = out_ptr_reg;
    occupied_next = occupied_reg;
    ready_next = ready_reg | div_done;
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;

    if (ctx_fire) begin
        ctx_count_next = ctx_count_reg + 1'b1;
    end
    if (sqrt_done) begin
        root_count_next = root_count_reg + 1'b1;
    end
    if (p16_fire) begin
        col_next = col_reg + 1'b1;
        if (s_axis_p16_tlast) begin
            col_next = '0;
            row_count_next = row_count_reg + 1'b1;
            n_next = col_reg + 1'b1;
        end
    end

    case (state_reg)
        COLLECT: begin
            if (root_count_reg == HC_WIDTH'(H) && row_count_reg == HC_WIDTH'(H)) begin
                state_next = NORM;
            end
        end
        NORM: begin
            use_ones_next = weight_sum == '0;
            den_next = weight_sum == '0 ? DEN_WIDTH'(H) : weight_sum;
            issue_count_next = '0;
            out_count_next = '0;
            issue_ptr_next = '0;
            out_ptr_next = '0;
            occupied_next = '0;
            state_next = SCORE;
        end
        SCORE: begin
            if (claim) begin
                issue_count_next = issue_count_reg + 1'b1;
                issue_ptr_next = issue_ptr_reg == D_WIDTH'(DIVIDERS - 1) ? '0 : issue_ptr_reg + 1'b1;
                occupied_next[issue_ptr_reg] = 1'b1;
            end
            if (take) begin
                m_axis_tvalid_next = 1'b1;
                ready_next[out_ptr_reg] = 1'b0;
                occupied_next[out_ptr_reg] = 1'b0;
                out_ptr_next = out_ptr_reg == D_WIDTH'(DIVIDERS - 1) ? '0 : out_ptr_reg + 1'b1;
                out_count_next = out_count_reg + 1'b1;
                if (out_count_reg == n_reg - 1'b1) begin
                    // image done: take the next one
                    ctx_count_next = '0;
                    root_count_next = '0;
                    row_count_next = '0;
                    state_next = COLLECT;
                end
            end
        end
        default: state_next = COLLECT;
    endcase
end

assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;

always_ff @(posedge clk) begin
    state_reg <= state_next;
    ctx_count_reg <= ctx_count_next;
    root_count_reg <= root_count_next;
    row_count_reg <= row_count_next;
    col_reg <= col_next;
    n_reg <= n_next;
    use_ones_reg <= use_ones_next;
    den_reg <= den_next;
    issue_count_reg <= issue_count_next;
    out_count_reg <= out_count_next;
    issue_ptr_reg <= issue_ptr_next;
    out_ptr_reg <= out_ptr_next;
    occupied_reg <= occupied_next;
    ready_reg <= ready_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    st_valid_reg <= claim;
    if (claim) begin
        st_div_reg <= issue_ptr_reg;
    end
    if (take) begin
        m_axis_tdata_reg <= div_quotient[out_ptr_reg][15:0];
        m_axis_tlast_reg <= out_count_reg == n_reg - 1'b1;
    end
    if (rst) begin
        state_reg <= COLLECT;
        ctx_count_reg <= '0;
        root_count_reg <= '0;
        row_count_reg <= '0;
        col_reg <= '0;
        occupied_reg <= '0;
        ready_reg <= '0;
        m_axis_tvalid_reg <= 1'b0;
        st_valid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && ctx_fire) begin
        assert (s_axis_ctx_tlast == (ctx_count_reg == HC_WIDTH'(H - 1)))
        else $error("asvit_score: context tlast must mark head H-1 (%0d)", H - 1);
    end
    if (!rst && p16_fire) begin
        assert (col_reg < CNT_WIDTH'(N_MAX)) else $error("asvit_score: p16 row longer than N_MAX (%0d)", N_MAX);
    end
    if (!rst && p16_fire && s_axis_p16_tlast && row_count_reg != '0) begin
        assert (col_reg + 1'b1 == n_reg) else $error("asvit_score: p16 rows of different lengths");
    end
end
`endif

endmodule : asvit_score

`resetall
