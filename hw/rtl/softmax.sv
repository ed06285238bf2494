// Integer softmax over one row of signed logits: an AXI-Stream of logits in, an AXI-Stream of (p8, p16) out.
//
// Contract: docs/arithmetic.md §5.2; golden model spvit.sim.golden.softmax.softmax (exp2_neg, POW2_LUT), HLS twin
// hw/hls/softmax.hpp. Bit-exact, for logits x_j at frac f (run-time, f in [-5, 32]) over the n beats of a row:
//   1. m = max_j x_j; d_j = min(m - x_j, 2**(f+5))
//   2. z_j = round_shift(d_j * 47274, f + 7); q_j = min(z_j >> 8, 24); r_j = z_j & 255   (z <= 11,819: 14 bits)
//   3. e_j = POW2[r_j] >> q_j               (softmax_pow2_rom.sv, generated from golden's POW2_LUT; 24 bits)
//   4. S = sum_j e_j (SUM_WIDTH bits); s = bit_length(S) - 24; R = floor(2**(39+s) / S) in [2**15, 2**16]
//      (udiv.sv, Q_WIDTH 17: one division per row)
//   5. p8_j = min(round_shift(e_j R, 31 + s), 255), p16_j = min(round_shift(e_j R, 23 + s), 65535)
//      (e R <= 2**39: one 24 x 17-bit product per element; round_sat.sv does the rounding and the clamp)
//
// Streams. s_axis: one logit per beat (LOGIT_WIDTH bits, signed), tlast on the row's last element; a row holds 1 to
// N_MAX beats. `frac` (f) is sampled with the row's tlast beat. m_axis: one element per beat in input order,
// tdata[7:0] = p8, tdata[23:8] = p16, tlast on the row's last element.
//
// Hardware: the row is buffered (the maximum must be known before the first exponential). Three engines, each one
// element per cycle, work on consecutive rows at once:
//   front end  logits into one of two x buffers, tracking the maximum;
//   EXP        exponentials from the other x buffer into one of two e buffers while summing (4-stage pipeline), then
//              bit_length(S) and the division (about 20 cycles);
//   OUT        e R, rounding and the output register from the other e buffer (3 stages that stall together under
//              backpressure; R and s travel with the elements).
// A row of n elements costs about n + 28 cycles of the EXP engine, so rows stream at that rate (n cycles per row in
// the front end and the OUT engine); the first element of a row leaves about n + 30 cycles after its last logit
// entered an idle unit.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module softmax #(
    parameter int N_MAX = 256,       // longest row (row-buffer depth); at most 65,535 (§1.2)
    parameter int LOGIT_WIDTH = 32   // logit width (signed); the contract's logits are int32 (§5.1)
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    input  wire logic signed [6:0]      frac,  // f of the row's logits, in [-5, 32]; sampled with the tlast beat

    input  wire logic [LOGIT_WIDTH-1:0] s_axis_tdata,
    input  wire logic                   s_axis_tvalid,
    output wire logic                   s_axis_tready,
    input  wire logic                   s_axis_tlast,

    output wire logic [23:0]            m_axis_tdata,  // {p16, p8}
    output wire logic                   m_axis_tvalid,
    input  wire logic                   m_axis_tready,
    output wire logic                   m_axis_tlast
);

localparam int LOG2E = 47274;                                 // floor(log2(e) 2**15 + 1/2), §5.2 step 2
localparam int ADDR_WIDTH = N_MAX > 1 ? $clog2(N_MAX) : 1;
localparam int CNT_WIDTH = $clog2(N_MAX + 1);                 // n in [1, N_MAX]
localparam int SUM_WIDTH = 23 + $clog2(N_MAX + 1);            // S <= N_MAX 2**23
localparam int S_MAX = SUM_WIDTH - 24;                        // largest normalisation shift s
localparam int DIVIDEND_WIDTH = 40 + S_MAX;                   // 2**(39 + s)
localparam int DIFF_WIDTH = LOGIT_WIDTH + 1;                  // d <= max(2**(f+5), m - x) < 2**(LOGIT_WIDTH+1)
localparam int SCALED_WIDTH = DIFF_WIDTH + 16;                // d * LOG2E
localparam int Z_WIDTH = 14;                                  // z <= 11,819
localparam int E_WIDTH = 24;                                  // e <= 2**23
localparam int R_WIDTH = 17;                                  // R <= 2**16
localparam int PROD_WIDTH = E_WIDTH + R_WIDTH;                // e R <= 2**39
localparam int BUF_WIDTH = $clog2(2 * N_MAX);                 // x_mem / e_mem index (two buffers)

if (N_MAX < 1 || N_MAX > 65535) begin : g_check_n
    $fatal(1, "softmax: N_MAX (%0d) must be in [1, 65535]", N_MAX);
end
if (LOGIT_WIDTH < 2 || LOGIT_WIDTH > 32) begin : g_check_logit
    $fatal(1, "softmax: LOGIT_WIDTH (%0d) must be in [2, 32]", LOGIT_WIDTH);
end

// ---- row buffers ---------------------------------------------------------------------------------------------------
// Two logit buffers and two e buffers, rows alternating between them (buffer b holds entries [b N_MAX, (b+1) N_MAX)):
// the front end fills one x buffer while the EXP engine reads the other, and the EXP engine fills one e buffer while
// the OUT engine reads the other.
logic [LOGIT_WIDTH-1:0] x_mem [2*N_MAX];
logic [E_WIDTH-1:0]     e_mem [2*N_MAX];

function automatic logic [BUF_WIDTH-1:0] buf_index(input logic b, input logic [ADDR_WIDTH-1:0] addr);
    return b ? BUF_WIDTH'(N_MAX) + BUF_WIDTH'(addr) : BUF_WIDTH'(addr);
endfunction

// ---- front end: logits into an x buffer, running maximum -----------------------------------------------------------
logic [CNT_WIDTH-1:0]               wr_count_reg, wr_count_next;
logic signed [LOGIT_WIDTH-1:0]      max_reg, max_next;      // running maximum of the row being received
logic                               fbuf_reg, fbuf_next;    // x buffer being filled
logic [1:0]                         full_reg, full_next;    // x buffer b holds a complete row for the EXP engine
// per x buffer: its row's length, maximum and frac
logic [1:0][CNT_WIDTH-1:0]          row_n_reg, row_n_next;
logic [1:0][LOGIT_WIDTH-1:0]        row_max_reg, row_max_next;
logic [1:0][6:0]                    row_frac_reg, row_frac_next;

logic                               in_fire;
logic signed [LOGIT_WIDTH-1:0]      in_x;
logic signed [LOGIT_WIDTH-1:0]      in_max;
logic                               release_row;            // EXP engine: its x buffer has been read
logic                               xbuf_reg, xbuf_next;    // x buffer the EXP engine reads

assign s_axis_tready = !full_reg[fbuf_reg];
assign in_fire = s_axis_tvalid && !full_reg[fbuf_reg];
assign in_x = $signed(s_axis_tdata);
assign in_max = (wr_count_reg == '0 || in_x > max_reg) ? in_x : max_reg;

always_comb begin
    wr_count_next = wr_count_reg;
    max_next = max_reg;
    fbuf_next = fbuf_reg;
    full_next = full_reg;
    row_n_next = row_n_reg;
    row_max_next = row_max_reg;
    row_frac_next = row_frac_reg;
    if (release_row) begin
        full_next[xbuf_reg] = 1'b0;
    end
    if (in_fire) begin
        if (s_axis_tlast) begin
            wr_count_next = '0;
            fbuf_next = !fbuf_reg;
            full_next[fbuf_reg] = 1'b1;
            row_n_next[fbuf_reg] = wr_count_reg + 1'b1;
            row_max_next[fbuf_reg] = in_max;
            row_frac_next[fbuf_reg] = frac;
        end else begin
            wr_count_next = wr_count_reg + 1'b1;
            max_next = in_max;
        end
    end
end

always_ff @(posedge clk) begin
    if (in_fire && wr_count_reg < CNT_WIDTH'(N_MAX)) begin
        x_mem[buf_index(fbuf_reg, ADDR_WIDTH'(wr_count_reg))] <= s_axis_tdata;
    end
    wr_count_reg <= wr_count_next;
    max_reg <= max_next;
    fbuf_reg <= fbuf_next;
    full_reg <= full_next;
    row_n_reg <= row_n_next;
    row_max_reg <= row_max_next;
    row_frac_reg <= row_frac_next;
    if (rst) begin
        wr_count_reg <= '0;
        fbuf_reg <= 1'b0;
        full_reg <= '0;
    end
end

// ---- EXP engine: exponentials and their sum, the normalisation, the division ----------------------------------------
typedef enum logic [2:0] {E_IDLE, E_EXP, E_NORM, E_DIV, E_DIV_WAIT, E_HAND} exp_state_t;

exp_state_t                    exp_state_reg, exp_state_next;
logic [CNT_WIDTH-1:0]          n_reg, n_next;              // the row being exponentiated
logic signed [LOGIT_WIDTH-1:0] m_reg, m_next;
logic [DIFF_WIDTH-1:0]         limit_reg, limit_next;      // 2**(f+5), capped at 2**LOGIT_WIDTH (never binds there)
logic signed [6:0]             zshift_reg, zshift_next;    // f + 7
logic [ADDR_WIDTH-1:0]         xaddr_reg, xaddr_next;      // x_mem read pointer
logic                          xissue_reg, xissue_next;    // the EXP pass still has reads to issue
logic [ADDR_WIDTH-1:0]         waddr_reg, waddr_next;      // e buffer write pointer
logic                          wbuf_reg, wbuf_next;        // e buffer of this row
logic [SUM_WIDTH-1:0]          sum_reg, sum_next;
logic [5:0]                    s_reg, s_next;              // normalisation shift
logic [1:0]                    busy_reg, busy_next;        // e buffer b holds a row not yet read out

// Hand-over of a normalised row to the OUT engine.
logic                          hand_valid_reg, hand_valid_next;
logic [CNT_WIDTH-1:0]          hand_n_reg, hand_n_next;
logic [5:0]                    hand_s_reg, hand_s_next;
logic [R_WIDTH-1:0]            hand_recip_reg, hand_recip_next;
logic                          hand_take;                  // the OUT engine takes the hand-over

logic                          div_start;
logic                          div_busy;
logic                          div_done;
logic [R_WIDTH-1:0]            div_quotient;
logic [DIVIDEND_WIDTH-1:0]     div_dividend;

// EXP pipeline: x read (1), d and d * LOG2E (2), z and the ROM read (3), e = POW2 >> q (write, sum).
logic                          x1_valid_reg, x2_valid_reg, x3_valid_reg;
logic [LOGIT_WIDTH-1:0]        x_rd_reg;
logic [SCALED_WIDTH-1:0]       scaled_reg;
logic [4:0]                    q_reg;
logic [E_WIDTH-1:0]            pow2_data;
logic [Z_WIDTH-1:0]            z;
logic [DIFF_WIDTH-1:0]         diff;
logic [DIFF_WIDTH-1:0]         d_clamped;
logic [E_WIDTH-1:0]            e_value;
logic [6:0]                    bitlen;                     // bit_length(S)
logic                          x_last_issue;

// OUT engine.
typedef enum logic {O_IDLE, O_OUT} out_state_t;

out_state_t                    out_state_reg, out_state_next;
logic [CNT_WIDTH-1:0]          out_n_reg, out_n_next;
logic [5:0]                    out_s_reg, out_s_next;
logic [R_WIDTH-1:0]            out_recip_reg, out_recip_next;
logic [ADDR_WIDTH-1:0]         raddr_reg, raddr_next;      // e buffer read pointer
logic                          rbuf_reg, rbuf_next;        // e buffer being read out
logic                          out_adv;                    // the OUT pipeline moves
logic                          out_issue;                  // an e read enters the OUT pipeline
logic                          r_last_issue;

// OUT pipeline (stalls as a whole while the output register is held): e read (1), e R (2), round/clamp (out reg).
// R and s travel with the elements, so the next row can follow without a gap.
logic                          o1_valid_reg, o1_last_reg, o2_valid_reg, o2_last_reg;
logic [E_WIDTH-1:0]            e_rd_reg;
logic [R_WIDTH-1:0]            o1_recip_reg;
logic [5:0]                    o1_s_reg, o2_s_reg;
logic [PROD_WIDTH-1:0]         prod_reg;
logic [7:0]                    p8;
logic [15:0]                   p16;
logic [23:0]                   m_axis_tdata_reg;
logic                          m_axis_tvalid_reg, m_axis_tlast_reg;

assign x_last_issue = xaddr_reg == ADDR_WIDTH'(n_reg - 1'b1);
assign release_row = exp_state_reg == E_EXP && xissue_reg && x_last_issue;
assign hand_take = out_state_reg == O_IDLE && hand_valid_reg;
assign out_adv = !m_axis_tvalid_reg || m_axis_tready;
assign out_issue = out_state_reg == O_OUT && out_adv;
assign r_last_issue = raddr_reg == ADDR_WIDTH'(out_n_reg - 1'b1);

always_comb begin
    bitlen = '0;
    for (int i = 0; i < SUM_WIDTH; i++) begin
        if (sum_reg[i]) begin
            bitlen = 7'(i + 1);
        end
    end
end

always_comb begin
    exp_state_next = exp_state_reg;
    n_next = n_reg;
    m_next = m_reg;
    limit_next = limit_reg;
    zshift_next = zshift_reg;
    xaddr_next = xaddr_reg;
    xissue_next = xissue_reg;
    xbuf_next = xbuf_reg;
    waddr_next = waddr_reg;
    wbuf_next = wbuf_reg;
    sum_next = sum_reg;
    s_next = s_reg;
    busy_next = busy_reg;
    hand_valid_next = hand_valid_reg && !hand_take;
    hand_n_next = hand_n_reg;
    hand_s_next = hand_s_reg;
    hand_recip_next = hand_recip_reg;
    div_start = 1'b0;

    case (exp_state_reg)
        E_IDLE: begin
            if (full_reg[xbuf_reg] && !busy_reg[wbuf_reg]) begin
                // Take the row over: the front end may refill its buffer once it has been read.
                n_next = row_n_reg[xbuf_reg];
                m_next = $signed(row_max_reg[xbuf_reg]);
                // f + 5 in [0, 37]; a clamp at 2**LOGIT_WIDTH or more never binds (m - x < 2**LOGIT_WIDTH).
                if (int'($signed(row_frac_reg[xbuf_reg])) + 5 < LOGIT_WIDTH) begin
                    limit_next = DIFF_WIDTH'(1) << (int'($signed(row_frac_reg[xbuf_reg])) + 5);
                end else begin
                    limit_next = DIFF_WIDTH'(1) << LOGIT_WIDTH;
                end
                zshift_next = $signed(row_frac_reg[xbuf_reg]) + 7'sd7;
                xaddr_next = '0;
                xissue_next = 1'b1;
                waddr_next = '0;
                sum_next = '0;
                busy_next[wbuf_reg] = 1'b1;
                exp_state_next = E_EXP;
            end
        end
        E_EXP: begin
            if (xissue_reg) begin
                xaddr_next = xaddr_reg + 1'b1;
                if (x_last_issue) begin
                    xissue_next = 1'b0;
                    xbuf_next = !xbuf_reg;
                end
            end
            if (x3_valid_reg) begin
                sum_next = sum_reg + SUM_WIDTH'(e_value);
                waddr_next = waddr_reg + 1'b1;
            end
            if (!xissue_reg && !x1_valid_reg && !x2_valid_reg && !x3_valid_reg) begin
                exp_state_next = E_NORM;
            end
        end
        E_NORM: begin
            // S >= 2**23 (the maximum contributes POW2[0] = 2**23), so s >= 0.
            s_next = 6'(bitlen - 7'd24);
            exp_state_next = E_DIV;
        end
        E_DIV: begin
            div_start = 1'b1;
            exp_state_next = E_DIV_WAIT;
        end
        E_DIV_WAIT: begin
            if (div_done) begin
                exp_state_next = E_HAND;
            end
        end
        E_HAND: begin
            // the quotient holds until the next division
            if (!hand_valid_reg) begin
                hand_valid_next = 1'b1;
                hand_n_next = n_reg;
                hand_s_next = s_reg;
                hand_recip_next = div_quotient;
                wbuf_next = !wbuf_reg;
                exp_state_next = E_IDLE;
            end
        end
        default: exp_state_next = E_IDLE;
    endcase

    // The OUT engine frees its buffer once the last element has been read.
    if (out_issue && r_last_issue) begin
        busy_next[rbuf_reg] = 1'b0;
    end
end

always_ff @(posedge clk) begin
    exp_state_reg <= exp_state_next;
    n_reg <= n_next;
    m_reg <= m_next;
    limit_reg <= limit_next;
    zshift_reg <= zshift_next;
    xaddr_reg <= xaddr_next;
    xissue_reg <= xissue_next;
    xbuf_reg <= xbuf_next;
    waddr_reg <= waddr_next;
    wbuf_reg <= wbuf_next;
    sum_reg <= sum_next;
    s_reg <= s_next;
    busy_reg <= busy_next;
    hand_valid_reg <= hand_valid_next;
    hand_n_reg <= hand_n_next;
    hand_s_reg <= hand_s_next;
    hand_recip_reg <= hand_recip_next;
    if (rst) begin
        exp_state_reg <= E_IDLE;
        xissue_reg <= 1'b0;
        xbuf_reg <= 1'b0;
        wbuf_reg <= 1'b0;
        busy_reg <= '0;
        hand_valid_reg <= 1'b0;
    end
end

// Stage 2: d = min(m - x, 2**(f+5)) and d * LOG2E.
always_comb begin
    diff = DIFF_WIDTH'(m_reg) - DIFF_WIDTH'($signed(x_rd_reg));  // m - x >= 0: exact in DIFF_WIDTH bits
    d_clamped = diff > limit_reg ? limit_reg : diff;
end

// Stage 3: z = round_shift(d * LOG2E, f + 7) (never saturates: z <= 11,819), the ROM address and q.
round_sat #(
    .IN_WIDTH(SCALED_WIDTH + 1),
    .OUT_WIDTH(Z_WIDTH),
    .SHIFT_WIDTH(7),
    .SIGNED_OUT(1'b0)
) z_round (
    .in({1'b0, scaled_reg}),
    .shift(zshift_reg),
    .out(z)
);

softmax_pow2_rom pow2_rom (
    .clk(clk),
    .en(1'b1),
    .addr(z[7:0]),
    .data(pow2_data)
);

// Stage 4: e = POW2[r] >> q.
assign e_value = pow2_data >> q_reg;

always_ff @(posedge clk) begin
    x1_valid_reg <= exp_state_reg == E_EXP && xissue_reg;
    x2_valid_reg <= x1_valid_reg;
    x3_valid_reg <= x2_valid_reg;
    if (exp_state_reg == E_EXP && xissue_reg) begin
        x_rd_reg <= x_mem[buf_index(xbuf_reg, xaddr_reg)];
    end
    scaled_reg <= SCALED_WIDTH'(d_clamped) * SCALED_WIDTH'(LOG2E);
    q_reg <= z[Z_WIDTH-1:8] > (Z_WIDTH-8)'(24) ? 5'd24 : 5'(z[Z_WIDTH-1:8]);
    if (x3_valid_reg) begin
        e_mem[buf_index(wbuf_reg, waddr_reg)] <= e_value;
    end
    if (rst) begin
        x1_valid_reg <= 1'b0;
        x2_valid_reg <= 1'b0;
        x3_valid_reg <= 1'b0;
    end
end

// One division per row: R = floor(2**(39+s) / S).
assign div_dividend = DIVIDEND_WIDTH'(1) << (6'd39 + s_reg);

udiv #(
    .N_WIDTH(DIVIDEND_WIDTH),
    .D_WIDTH(SUM_WIDTH),
    .Q_WIDTH(R_WIDTH)
) recip_div (
    .clk(clk),
    .rst(rst),
    .start(div_start),
    .dividend(div_dividend),
    .divisor(sum_reg),
    .busy(div_busy),
    .done(div_done),
    .quotient(div_quotient)
);

// ---- OUT engine: p8 and p16 from e R --------------------------------------------------------------------------------
always_comb begin
    out_state_next = out_state_reg;
    out_n_next = out_n_reg;
    out_s_next = out_s_reg;
    out_recip_next = out_recip_reg;
    raddr_next = raddr_reg;
    rbuf_next = rbuf_reg;
    case (out_state_reg)
        O_IDLE: begin
            if (hand_take) begin
                out_n_next = hand_n_reg;
                out_s_next = hand_s_reg;
                out_recip_next = hand_recip_reg;
                raddr_next = '0;
                out_state_next = O_OUT;
            end
        end
        O_OUT: begin
            if (out_issue) begin
                raddr_next = raddr_reg + 1'b1;
                if (r_last_issue) begin
                    rbuf_next = !rbuf_reg;
                    out_state_next = O_IDLE;
                end
            end
        end
        default: out_state_next = O_IDLE;
    endcase
end

always_ff @(posedge clk) begin
    out_state_reg <= out_state_next;
    out_n_reg <= out_n_next;
    out_s_reg <= out_s_next;
    out_recip_reg <= out_recip_next;
    raddr_reg <= raddr_next;
    rbuf_reg <= rbuf_next;
    if (rst) begin
        out_state_reg <= O_IDLE;
        rbuf_reg <= 1'b0;
    end
end

round_sat #(
    .IN_WIDTH(PROD_WIDTH + 1),
    .OUT_WIDTH(8),
    .SHIFT_WIDTH(7),
    .SIGNED_OUT(1'b0)
) p8_round (
    .in({1'b0, prod_reg}),
    .shift(7'(o2_s_reg) + 7'sd31),
    .out(p8)
);

round_sat #(
    .IN_WIDTH(PROD_WIDTH + 1),
    .OUT_WIDTH(16),
    .SHIFT_WIDTH(7),
    .SIGNED_OUT(1'b0)
) p16_round (
    .in({1'b0, prod_reg}),
    .shift(7'(o2_s_reg) + 7'sd23),
    .out(p16)
);

assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;

always_ff @(posedge clk) begin
    if (out_adv) begin
        o1_valid_reg <= out_issue;
        o1_last_reg <= r_last_issue;
        if (out_issue) begin
            e_rd_reg <= e_mem[buf_index(rbuf_reg, raddr_reg)];
        end
        o1_recip_reg <= out_recip_reg;
        o1_s_reg <= out_s_reg;
        o2_valid_reg <= o1_valid_reg;
        o2_last_reg <= o1_last_reg;
        o2_s_reg <= o1_s_reg;
        prod_reg <= PROD_WIDTH'(e_rd_reg) * PROD_WIDTH'(o1_recip_reg);
        m_axis_tvalid_reg <= o2_valid_reg;
        m_axis_tlast_reg <= o2_last_reg;
        m_axis_tdata_reg <= {p16, p8};
    end
    if (rst) begin
        o1_valid_reg <= 1'b0;
        o2_valid_reg <= 1'b0;
        m_axis_tvalid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && in_fire) begin
        assert (wr_count_reg < CNT_WIDTH'(N_MAX)) else $error("softmax: row longer than N_MAX (%0d)", N_MAX);
    end
    if (!rst && div_start) begin
        assert (!div_busy) else $error("softmax: divider busy at the start of a division");
    end
    if (!rst && in_fire && s_axis_tlast) begin
        assert (int'(frac) >= -5 && int'(frac) <= 32) else $error("softmax: frac %0d outside [-5, 32]", frac);
    end
end
`endif

endmodule : softmax

`resetall
