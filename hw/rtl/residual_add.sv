// Residual add of two int8 AXI-Streams with power-of-two scales, PARALLEL lanes per beat, one register stage.
//
// Contract: docs/arithmetic.md §4 (also the positional-embedding add, §11.1); golden model
// spvit.sim.golden.arith.residual_add; HLS twin hw/hls/residual_add.hpp. Per lane, bit-exact:
//   f = max(fx, fr)
//   y = requantize((x << (f - fx)) + (r << (f - fr)), f - f_out)     (round_sat, §2.1-2.3)
// The alignment shifts are in [0, 24] and the output shift in [-24, 24] for fracs in [-8, 16] (§1.1): int8 << 24
// needs 32 bits, the sum 33; the datapath is 34 bits.
//
// Streams: s_axis_x and s_axis_r carry PARALLEL int8 lanes per beat, beat k of one with beat k of the other (same
// lane order, same tlast); m_axis carries the PARALLEL int8 results with x's tlast. A beat is taken from both
// inputs at once (a join): each input's tready waits for the other input's tvalid, as AXI-Stream allows.
// The fracs are run-time registers sampled with each accepted beat; hold them stable within a tensor. Fracs
// outside [FRAC_MIN, FRAC_MAX] are illegal (simulation asserts with --assert).
// Flow control: a pipeline register, full rate (one beat per cycle) under no backpressure.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module residual_add #(
    parameter int PARALLEL = 4,     // int8 lanes per beat
    parameter int FRAC_WIDTH = 6,   // width of the signed frac ports
    parameter int FRAC_MIN = -8,    // smallest legal frac (§1.1)
    parameter int FRAC_MAX = 16     // largest legal frac (§1.1)
) (
    input  wire logic                         clk,
    input  wire logic                         rst,

    input  wire logic signed [FRAC_WIDTH-1:0] fx,     // frac of x
    input  wire logic signed [FRAC_WIDTH-1:0] fr,     // frac of r
    input  wire logic signed [FRAC_WIDTH-1:0] f_out,  // frac of the result

    input  wire logic [PARALLEL-1:0][7:0]     s_axis_x_tdata,
    input  wire logic                         s_axis_x_tvalid,
    output wire logic                         s_axis_x_tready,
    input  wire logic                         s_axis_x_tlast,

    input  wire logic [PARALLEL-1:0][7:0]     s_axis_r_tdata,
    input  wire logic                         s_axis_r_tvalid,
    output wire logic                         s_axis_r_tready,
    input  wire logic                         s_axis_r_tlast,

    output wire logic [PARALLEL-1:0][7:0]     m_axis_tdata,
    output wire logic                         m_axis_tvalid,
    input  wire logic                         m_axis_tready,
    output wire logic                         m_axis_tlast
);

localparam int ALIGN_MAX = FRAC_MAX - FRAC_MIN;  // largest alignment shift
localparam int SUM_WIDTH = 8 + ALIGN_MAX + 2;    // x << ALIGN_MAX plus r << ALIGN_MAX, signed: 34 for [-8, 16]
localparam int DIFF_WIDTH = FRAC_WIDTH + 1;      // f - fx, f - f_out etc. without overflow

if (PARALLEL < 1) begin : g_check_parallel
    $fatal(1, "residual_add: PARALLEL (%0d) must be >= 1", PARALLEL);
end
if (FRAC_MIN > FRAC_MAX || FRAC_MIN < -(2 ** (FRAC_WIDTH-1)) || FRAC_MAX >= 2 ** (FRAC_WIDTH-1)) begin : g_check_frac
    $fatal(1, "residual_add: FRAC_WIDTH (%0d) cannot hold [%0d, %0d]", FRAC_WIDTH, FRAC_MIN, FRAC_MAX);
end

// Shifts from the fracs (shared by all lanes).
logic signed [DIFF_WIDTH-1:0] f_max, align_x, align_r, out_shift;

always_comb begin
    f_max = fx > fr ? DIFF_WIDTH'(fx) : DIFF_WIDTH'(fr);
    align_x = f_max - DIFF_WIDTH'(fx);
    align_r = f_max - DIFF_WIDTH'(fr);
    out_shift = f_max - DIFF_WIDTH'(f_out);
end

// Per lane: exact alignment, 34-bit add, round-shift and saturate.
logic [PARALLEL-1:0][7:0] result;

for (genvar l = 0; l < PARALLEL; l++) begin : g_lane
    logic signed [SUM_WIDTH-1:0] x_aligned, r_aligned, sum;
    always_comb begin
        x_aligned = SUM_WIDTH'($signed(s_axis_x_tdata[l])) <<< align_x;
        r_aligned = SUM_WIDTH'($signed(s_axis_r_tdata[l])) <<< align_r;
        sum = x_aligned + r_aligned;
    end
    round_sat #(
        .IN_WIDTH(SUM_WIDTH),
        .OUT_WIDTH(8),
        .SHIFT_WIDTH(DIFF_WIDTH),
        .SIGNED_OUT(1)
    ) round_sat_inst (
        .in(sum),
        .shift(out_shift),
        .out(result[l])
    );
end

// Join and output register stage. Only the valid flag is reset.
logic [PARALLEL-1:0][7:0] m_axis_tdata_reg;
logic                     m_axis_tvalid_reg, m_axis_tvalid_next;
logic                     m_axis_tlast_reg;

wire out_ready = !m_axis_tvalid_reg || m_axis_tready;
wire beat = s_axis_x_tvalid && s_axis_r_tvalid && out_ready;

assign s_axis_x_tready = s_axis_r_tvalid && out_ready;
assign s_axis_r_tready = s_axis_x_tvalid && out_ready;
assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;

always_comb begin
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;
    if (beat) begin
        m_axis_tvalid_next = 1'b1;
    end
end

always_ff @(posedge clk) begin
    if (beat) begin
        m_axis_tdata_reg <= result;
        m_axis_tlast_reg <= s_axis_x_tlast;
    end
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    if (rst) begin
        m_axis_tvalid_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && beat) begin
        assert (int'(fx) >= FRAC_MIN && int'(fx) <= FRAC_MAX && int'(fr) >= FRAC_MIN && int'(fr) <= FRAC_MAX
                && int'(f_out) >= FRAC_MIN && int'(f_out) <= FRAC_MAX)
        else $error("residual_add: fracs (%0d, %0d, %0d) outside [%0d, %0d]", fx, fr, f_out, FRAC_MIN, FRAC_MAX);
        assert (s_axis_x_tlast == s_axis_r_tlast)
        else $error("residual_add: tlast of x (%0d) and r (%0d) differ", s_axis_x_tlast, s_axis_r_tlast);
    end
end
`endif

endmodule : residual_add

`resetall
