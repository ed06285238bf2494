// Linear layer: int8 tokens x int8 weights + int32 bias -> int32 accumulators or requantized int8, a SIMD x PE
// MAC array in the style of FINN's MVAU.
//
// Contract: docs/arithmetic.md §3 (acc[o] = bias[o] + sum_i x[i] * W[o, i], int32, never overflows by §1.2/§1.3)
// and §2.3 (requantize(acc, shift), shift = f_in + f_w - f_out); golden model spvit.sim.golden.arith.linear and
// arith.requantize. HLS twin hw/hls/linear.hpp.
//
// Streams
//   s_axis: one token = SF = IN_DIM/SIMD beats of SIMD int8 lanes (lane s of beat j is x[j*SIMD + s]); tlast on the
//           last beat of the last token of a sequence (tlast on any other beat is illegal). The token count is
//           whatever arrives until tlast. With SPLIT_NF > 0, tuser (sampled with a token's last beat) picks the
//           outputs that token computes: 0 the first SPLIT_NF neuron folds, 1 the others (the encoder block's qkv
//           computes k and v of every token first, q later).
//   m_axis: one token = NF = OUT_DIM/PE beats of PE lanes (lane p of beat n is output n*PE + p): int32
//           accumulators (ACC_OUT=1) or int8 requantize(acc, shift) (ACC_OUT=0); tlast on the last beat of the
//           token that carried tlast in. With SPLIT_NF > 0 a token has only the beats of its folds, in order.
// Weight and bias memories (outside, e.g. BRAM loaded over AXI; layout produced by sim/rtl_layout.py)
//   w_rd_addr -> w_rd_data: word a = nf*SF + sf holds W[nf*PE + p, sf*SIMD + s] in lane (p, s), i.e. at bits
//           [(p*SIMD + s)*8 +: 8]. A token reads words 0, 1, ..., NF*SF-1 in order.
//   b_rd_addr -> b_rd_data: word nf holds bias[nf*PE + p] in lane p (bits [p*32 +: 32]).
//   Both memories answer with a FIXED latency of MEM_LATENCY (1 or 2) clock cycles and never stall: data for the
//   address driven in cycle t is sampled in cycle t + MEM_LATENCY (1: a BRAM read; 2: a BRAM read plus its output
//   register). Addresses are driven every cycle; clock enables of the memory must be tied high.
// Run-time shift (ACC_OUT=0): applied at the output stage, so hold it stable while a sequence is in flight.
//
// Schedule: a token's input vector is written once into one half of a double buffer (1 beat/cycle) while the
// other half feeds the MAC array; each cycle the array takes one SIMD-wide input word and one PE x SIMD weight
// word (neuron fold nf, synapse fold sf; sf innermost) and adds PE dot products to PE accumulators. A token costs
// NF*SF cycles back to back (100 % MAC utilisation at steady state, the next token's input loads underneath);
// the input alone limits it when NF = 1 (SF beats per token either way). Latency of an idle array: the first
// output beat of a token is valid SF + MEM_LATENCY + 3 cycles after its last input beat. Results go through an
// OUT_FIFO_DEPTH-entry output FIFO; a fold is only started when its result has a reserved FIFO slot (credits),
// so the MAC pipeline itself never stalls and backpressure on m_axis just pauses the issue of new folds.
//
// Two products per DSP48E2 (MACS_PER_DSP=2, Xilinx WP487): PEs 2q and 2q+1 share one multiplier per SIMD lane, the
// lane's activation x times the packed operand w_lo + w_hi * 2**18 (w_lo = W[2q], w_hi = W[2q+1]; 27 bits signed, the
// A/D pre-adder width). The wide products of up to GROUP = 7 lanes are summed as they are, then split: the sum is
// lo + hi * 2**18 with |lo| <= 7 * 2**14 < 2**17, so its low 18 bits, read signed, are lo exactly, and the bits above
// are hi minus the low field's borrow (1 when lo is negative), which is added back. The PE sums are then exactly the
// unpacked array's, for every int8 input.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module linear #(
    parameter int IN_DIM = 64,          // input features (reduction length, <= 65,535 by §1.2)
    parameter int OUT_DIM = 192,        // output features
    parameter int SIMD = 16,            // input lanes reduced per cycle; divides IN_DIM
    parameter int PE = 8,               // outputs computed in parallel; divides OUT_DIM
    parameter bit ACC_OUT = 0,          // 1: emit int32 accumulators; 0: requantize to int8 by `shift`
    parameter int SHIFT_WIDTH = 7,      // width of the signed run-time shift port (7 holds §2.3's [-32, 40])
    parameter int MEM_LATENCY = 1,      // weight/bias memory read latency in cycles (1 or 2)
    parameter int OUT_FIFO_DEPTH = 8,   // output FIFO entries (power of two, >= MEM_LATENCY + 4 for full rate)
    parameter int MACS_PER_DSP = 1,     // int8 products per multiplier: 1, or 2 (PE pairs share one; PE even)
    parameter int SPLIT_NF = 0,         // 0: every token computes all NF folds; else s_axis_tuser picks folds
                                        // [0, SPLIT_NF) (0) or [SPLIT_NF, NF) (1) per token, 0 < SPLIT_NF < NF
    // derived (do not override): folds and memory address widths
    localparam int SF = IN_DIM / SIMD,  // synapse folds: input beats per token
    localparam int NF = OUT_DIM / PE,   // neuron folds: output beats per token
    localparam int W_ADDR_WIDTH = NF * SF > 1 ? $clog2(NF * SF) : 1,
    localparam int B_ADDR_WIDTH = NF > 1 ? $clog2(NF) : 1,
    localparam int OUT_LANE_WIDTH = ACC_OUT ? 32 : 8
) (
    input  wire logic                                   clk,
    input  wire logic                                   rst,

    input  wire logic signed [SHIFT_WIDTH-1:0]          shift,  // f_in + f_w - f_out (ACC_OUT=0 only)

    input  wire logic        [SIMD-1:0][7:0]            s_axis_tdata,
    input  wire logic                                   s_axis_tvalid,
    output wire logic                                   s_axis_tready,
    input  wire logic                                   s_axis_tlast,
    input  wire logic                                   s_axis_tuser,  // the token's folds (SPLIT_NF > 0)

    output wire logic        [PE-1:0][OUT_LANE_WIDTH-1:0] m_axis_tdata,
    output wire logic                                   m_axis_tvalid,
    input  wire logic                                   m_axis_tready,
    output wire logic                                   m_axis_tlast,

    output wire logic        [W_ADDR_WIDTH-1:0]         w_rd_addr,
    input  wire logic        [PE-1:0][SIMD-1:0][7:0]    w_rd_data,
    output wire logic        [B_ADDR_WIDTH-1:0]         b_rd_addr,
    input  wire logic        [PE-1:0][31:0]             b_rd_data
);

localparam int SF_WIDTH = SF > 1 ? $clog2(SF) : 1;
localparam int NF_WIDTH = NF > 1 ? $clog2(NF) : 1;
localparam int FIFO_PTR_WIDTH = OUT_FIFO_DEPTH > 1 ? $clog2(OUT_FIFO_DEPTH) : 1;
localparam int CREDIT_WIDTH = $clog2(OUT_FIFO_DEPTH + 1);
localparam int XBUF_DEPTH = 2 * (2 ** SF_WIDTH);  // two banks, each addressed by the synapse fold

// Illegal parameter combinations stop elaboration.
if (SIMD < 1 || PE < 1 || IN_DIM % SIMD != 0 || OUT_DIM % PE != 0) begin : g_check_fold
    $fatal(1, "linear: SIMD (%0d) must divide IN_DIM (%0d) and PE (%0d) must divide OUT_DIM (%0d)",
           SIMD, IN_DIM, PE, OUT_DIM);
end
if (IN_DIM > 65535) begin : g_check_reduction
    $fatal(1, "linear: IN_DIM (%0d) exceeds the longest safe int32 reduction, 65,535 (§1.2)", IN_DIM);
end
if (MEM_LATENCY < 1 || MEM_LATENCY > 2) begin : g_check_latency
    $fatal(1, "linear: MEM_LATENCY (%0d) must be 1 or 2", MEM_LATENCY);
end
if (MACS_PER_DSP < 1 || MACS_PER_DSP > 2 || PE % MACS_PER_DSP != 0) begin : g_check_packing
    $fatal(1, "linear: MACS_PER_DSP (%0d) must be 1 or 2, and divide PE (%0d)", MACS_PER_DSP, PE);
end
if (SPLIT_NF < 0 || (SPLIT_NF > 0 && SPLIT_NF >= NF)) begin : g_check_split
    $fatal(1, "linear: SPLIT_NF (%0d) must be 0 or in [1, NF = %0d)", SPLIT_NF, NF);
end
if (OUT_FIFO_DEPTH < 2 || (OUT_FIFO_DEPTH & (OUT_FIFO_DEPTH - 1)) != 0) begin : g_check_fifo
    $fatal(1, "linear: OUT_FIFO_DEPTH (%0d) must be a power of two >= 2", OUT_FIFO_DEPTH);
end

// ---------------------------------------------------------------------------------------------------------------
// Input double buffer. Bank fill_bank_reg takes beats; bank_full_reg[b] marks a complete token, which the issue
// side reads NF times and then frees. bank_last_reg[b] is the tlast that came with that token, bank_user_reg[b] its
// tuser.
logic [SIMD-1:0][7:0] xbuf [XBUF_DEPTH];

logic                fill_bank_reg, fill_bank_next;
logic [SF_WIDTH-1:0] fill_addr_reg, fill_addr_next;
logic [1:0]          bank_full_reg, bank_full_next;
logic [1:0]          bank_last_reg, bank_last_next;
logic [1:0]          bank_user_reg, bank_user_next;

// Issue side: which bank, which fold, which weight word; credits = output FIFO slots reserved by started folds.
// nf_reg and w_addr_reg count from the first fold of the token (fold_base: 0, or SPLIT_NF for tuser 1).
logic                    issue_bank_reg, issue_bank_next;
logic [SF_WIDTH-1:0]     sf_reg, sf_next;
logic [NF_WIDTH-1:0]     nf_reg, nf_next;
logic [W_ADDR_WIDTH-1:0] w_addr_reg, w_addr_next;
logic [CREDIT_WIDTH-1:0] credits_reg, credits_next;

wire s_beat = s_axis_tvalid && s_axis_tready;
wire fold_first = sf_reg == '0;
wire fold_last = sf_reg == SF_WIDTH'(SF - 1);
wire split_hi = SPLIT_NF > 0 && bank_user_reg[issue_bank_reg];
wire [NF_WIDTH-1:0] fold_base = split_hi ? NF_WIDTH'(SPLIT_NF) : '0;
wire [NF_WIDTH-1:0] fold_end = SPLIT_NF == 0 ? NF_WIDTH'(NF - 1)  // the token's last fold, from fold_base
                             : (split_hi ? NF_WIDTH'(NF - SPLIT_NF - 1) : NF_WIDTH'(SPLIT_NF - 1));
wire nf_end = nf_reg == fold_end;
wire token_last = fold_last && nf_end;
// A fold starts only with a free output slot; the rest of the fold follows back to back.
wire issue = bank_full_reg[issue_bank_reg] && (!fold_first || credits_reg < CREDIT_WIDTH'(OUT_FIFO_DEPTH));
wire m_beat = m_axis_tvalid && m_axis_tready;

assign s_axis_tready = !bank_full_reg[fill_bank_reg];
assign w_rd_addr = w_addr_reg + (split_hi ? W_ADDR_WIDTH'(SPLIT_NF * SF) : '0);
assign b_rd_addr = B_ADDR_WIDTH'(nf_reg + fold_base);

always_comb begin
    fill_bank_next = fill_bank_reg;
    fill_addr_next = fill_addr_reg;
    bank_full_next = bank_full_reg;
    bank_last_next = bank_last_reg;
    bank_user_next = bank_user_reg;
    issue_bank_next = issue_bank_reg;
    sf_next = sf_reg;
    nf_next = nf_reg;
    w_addr_next = w_addr_reg;
    credits_next = credits_reg;

    if (s_beat) begin
        if (fill_addr_reg == SF_WIDTH'(SF - 1)) begin
            fill_addr_next = '0;
            bank_full_next[fill_bank_reg] = 1'b1;
            bank_last_next[fill_bank_reg] = s_axis_tlast;
            bank_user_next[fill_bank_reg] = s_axis_tuser;
            fill_bank_next = !fill_bank_reg;
        end else begin
            fill_addr_next = fill_addr_reg + 1'b1;
        end
    end

    if (issue) begin
        w_addr_next = w_addr_reg + 1'b1;
        sf_next = sf_reg + 1'b1;
        if (fold_last) begin
            sf_next = '0;
            nf_next = nf_reg + 1'b1;
        end
        if (token_last) begin
            nf_next = '0;
            w_addr_next = '0;
            bank_full_next[issue_bank_reg] = 1'b0;  // the last read of this bank happens at this edge
            issue_bank_next = !issue_bank_reg;
        end
    end

    credits_next = credits_reg + CREDIT_WIDTH'(issue && fold_first) - CREDIT_WIDTH'(m_beat);
end

// Input buffer write and registered read (a simple dual-port RAM).
logic [SIMD-1:0][7:0] x_rd_reg;

always_ff @(posedge clk) begin
    if (s_beat) begin
        xbuf[{fill_bank_reg, fill_addr_reg}] <= s_axis_tdata;
    end
    x_rd_reg <= xbuf[{issue_bank_reg, sf_reg}];
end

// ---------------------------------------------------------------------------------------------------------------
// Control and input word delayed to meet the memory data (MEM_LATENCY cycles after issue).
// Stage k of the delay line holds what was issued k+1 cycles ago.
logic [MEM_LATENCY-1:0] p_valid_reg;
logic [MEM_LATENCY-1:0] p_first_reg;
logic [MEM_LATENCY-1:0] p_last_reg;
logic [MEM_LATENCY-1:0] p_tlast_reg;
logic [SIMD-1:0][7:0]   x_mem;  // the input word that pairs with w_rd_data this cycle

if (MEM_LATENCY == 1) begin : g_x_lat1
    assign x_mem = x_rd_reg;
end else begin : g_x_lat2
    logic [SIMD-1:0][7:0] x_dly_reg;
    always_ff @(posedge clk) begin
        x_dly_reg <= x_rd_reg;
    end
    assign x_mem = x_dly_reg;
end

always_ff @(posedge clk) begin
    p_valid_reg <= MEM_LATENCY'({p_valid_reg, issue});
    p_first_reg <= MEM_LATENCY'({p_first_reg, fold_first});
    p_last_reg <= MEM_LATENCY'({p_last_reg, fold_last});
    p_tlast_reg <= MEM_LATENCY'({p_tlast_reg, nf_end && bank_last_reg[issue_bank_reg]});
    if (rst) begin
        p_valid_reg <= '0;
    end
end

wire m_valid = p_valid_reg[MEM_LATENCY-1];
wire m_first = p_first_reg[MEM_LATENCY-1];
wire m_last = p_last_reg[MEM_LATENCY-1];
wire m_tlast = p_tlast_reg[MEM_LATENCY-1];

// ---------------------------------------------------------------------------------------------------------------
// MAC array. Stage D: PE dot products of SIMD int8 pairs (the bias joins the first fold's sum); stage A: the
// accumulators. int32 wraps never happen (§1.2), so every partial sum is exact in 32 bits.
// Each PE's dot product is the sum of TERMS terms term[p][t] + borrow[p][t]: unpacked, the SIMD int8 x int8 products
// (16 bits signed, borrow 0); packed, the products of up to GROUP lanes at a time (18 bits signed).
localparam int GROUP = 7;  // packed lanes summed before a split: 7 * 2**14 < 2**17 keeps the low field exact
localparam int TERMS = MACS_PER_DSP == 2 ? (SIMD + GROUP - 1) / GROUP : SIMD;
localparam int TERM_WIDTH = MACS_PER_DSP == 2 ? 18 : 16;
logic [PE-1:0][TERMS-1:0][TERM_WIDTH-1:0] term;
logic [PE-1:0][TERMS-1:0]                 borrow;

if (MACS_PER_DSP == 2) begin : g_packed
    localparam int LO_BITS = 18;                // offset of w_hi: the signed low field
    localparam int PACKED_WIDTH = LO_BITS + 9;  // 27 bits hold w_lo + w_hi * 2**LO_BITS
    localparam int WIDE_WIDTH = PACKED_WIDTH + 11;  // a sum of GROUP products
    for (genvar q = 0; q < PE / 2; q++) begin : g_pair
        logic [SIMD-1:0][PACKED_WIDTH-1:0] w_packed;
        for (genvar s = 0; s < SIMD; s++) begin : g_lane
            assign w_packed[s] = (PACKED_WIDTH'($signed(w_rd_data[2*q+1][s])) << LO_BITS)
                                 + PACKED_WIDTH'($signed(w_rd_data[2*q][s]));
        end
        for (genvar t = 0; t < TERMS; t++) begin : g_group
            localparam int FIRST = t * GROUP;
            localparam int LANES = SIMD - FIRST < GROUP ? SIMD - FIRST : GROUP;
            logic [WIDE_WIDTH-1:0] wide;
            always_comb begin
                wide = '0;
                for (int k = 0; k < LANES; k++) begin
                    wide = wide + WIDE_WIDTH'($signed(x_mem[FIRST + k]) * $signed(w_packed[FIRST + k]));
                end
            end
            assign term[2*q][t] = wide[LO_BITS-1:0];
            assign borrow[2*q][t] = 1'b0;
            assign term[2*q+1][t] = TERM_WIDTH'(wide[WIDE_WIDTH-1:LO_BITS]);
            assign borrow[2*q+1][t] = wide[LO_BITS-1];
        end
    end
end else begin : g_single
    for (genvar p = 0; p < PE; p++) begin : g_pe
        for (genvar s = 0; s < SIMD; s++) begin : g_lane
            assign term[p][s] = 16'($signed(x_mem[s]) * $signed(w_rd_data[p][s]));
        end
    end
    assign borrow = '0;
end

logic [PE-1:0][31:0] dot_next, dot_reg;
logic                d_valid_reg, d_first_reg, d_last_reg, d_tlast_reg;

always_comb begin
    for (int p = 0; p < PE; p++) begin
        dot_next[p] = m_first ? b_rd_data[p] : 32'd0;
        for (int t = 0; t < TERMS; t++) begin
            dot_next[p] = dot_next[p] + 32'($signed(term[p][t])) + 32'(borrow[p][t]);
        end
    end
end

logic [PE-1:0][31:0] acc_reg, acc_next;
logic                r_valid_reg, r_tlast_reg;

always_comb begin
    for (int p = 0; p < PE; p++) begin
        acc_next[p] = (d_first_reg ? 32'd0 : acc_reg[p]) + dot_reg[p];
    end
end

always_ff @(posedge clk) begin
    dot_reg <= dot_next;
    d_valid_reg <= m_valid;
    d_first_reg <= m_first;
    d_last_reg <= m_last;
    d_tlast_reg <= m_tlast;
    if (d_valid_reg) begin
        acc_reg <= acc_next;
    end
    // A finished fold is written to the output FIFO in the next cycle (acc_reg may change right after).
    r_valid_reg <= d_valid_reg && d_last_reg;
    r_tlast_reg <= d_tlast_reg;
    if (rst) begin
        d_valid_reg <= 1'b0;
        r_valid_reg <= 1'b0;
    end
end

// ---------------------------------------------------------------------------------------------------------------
// Output conversion: int32 as is, or §2.3 requantize per lane.
logic [PE-1:0][OUT_LANE_WIDTH-1:0] result;

if (ACC_OUT) begin : g_acc_out
    assign result = acc_reg;
    wire unused_shift = &{1'b0, shift};
end else begin : g_requant
    for (genvar p = 0; p < PE; p++) begin : g_lane
        round_sat #(
            .IN_WIDTH(32),
            .OUT_WIDTH(8),
            .SHIFT_WIDTH(SHIFT_WIDTH),
            .SIGNED_OUT(1)
        ) round_sat_inst (
            .in(acc_reg[p]),
            .shift(shift),
            .out(result[p])
        );
    end
end

// Output FIFO (first-word fall-through). Credits guarantee it never overflows.
logic [PE-1:0][OUT_LANE_WIDTH-1:0] fifo_data [OUT_FIFO_DEPTH];
logic                              fifo_last [OUT_FIFO_DEPTH];
logic [FIFO_PTR_WIDTH-1:0]         fifo_wr_reg, fifo_rd_reg;
logic [CREDIT_WIDTH-1:0]           fifo_count_reg;

assign m_axis_tdata = fifo_data[fifo_rd_reg];
assign m_axis_tlast = fifo_last[fifo_rd_reg];
assign m_axis_tvalid = fifo_count_reg != '0;

always_ff @(posedge clk) begin
    if (r_valid_reg) begin
        fifo_data[fifo_wr_reg] <= result;
        fifo_last[fifo_wr_reg] <= r_tlast_reg;
        fifo_wr_reg <= fifo_wr_reg + 1'b1;
    end
    if (m_beat) begin
        fifo_rd_reg <= fifo_rd_reg + 1'b1;
    end
    fifo_count_reg <= fifo_count_reg + CREDIT_WIDTH'(r_valid_reg) - CREDIT_WIDTH'(m_beat);
    if (rst) begin
        fifo_wr_reg <= '0;
        fifo_rd_reg <= '0;
        fifo_count_reg <= '0;
    end
end

// ---------------------------------------------------------------------------------------------------------------
always_ff @(posedge clk) begin
    fill_bank_reg <= fill_bank_next;
    fill_addr_reg <= fill_addr_next;
    bank_full_reg <= bank_full_next;
    bank_last_reg <= bank_last_next;
    bank_user_reg <= bank_user_next;
    issue_bank_reg <= issue_bank_next;
    sf_reg <= sf_next;
    nf_reg <= nf_next;
    w_addr_reg <= w_addr_next;
    credits_reg <= credits_next;
    if (rst) begin
        fill_bank_reg <= 1'b0;
        fill_addr_reg <= '0;
        bank_full_reg <= '0;
        bank_last_reg <= '0;
        bank_user_reg <= '0;
        issue_bank_reg <= 1'b0;
        sf_reg <= '0;
        nf_reg <= '0;
        w_addr_reg <= '0;
        credits_reg <= '0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && s_beat) begin
        assert (!s_axis_tlast || fill_addr_reg == SF_WIDTH'(SF - 1))
        else $error("linear: tlast on beat %0d of a %0d-beat token", fill_addr_reg, SF);
    end
    if (!rst && !ACC_OUT && p_valid_reg[0]) begin
        assert (int'(shift) >= -32 && int'(shift) <= 40)
        else $error("linear: shift %0d outside the contract's [-32, 40]", shift);
    end
end
`endif

endmodule : linear

`resetall
