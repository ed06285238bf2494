// Unsigned sequential restoring divider: quotient = floor(dividend / divisor), one quotient bit per cycle.
//
// Contract: the division underneath docs/arithmetic.md §2.4 (rdiv, see rdiv.sv) and §2.5 (reciprocal(d, k) =
// floor(2**k / d) is this divider with dividend 1 << k); golden models spvit.sim.golden.arith.rdiv / reciprocal,
// HLS twin udiv / reciprocal in hw/hls/arith.hpp.
//
// Algorithm: restoring long division over the low ITER = min(Q_WIDTH, N_WIDTH) dividend bits. The caller guarantees
// dividend / divisor < 2**Q_WIDTH, so the dividend's top part (dividend >> ITER) is already below the divisor and is
// the initial partial remainder; each cycle shifts in one dividend bit and subtracts the divisor where it fits. The
// partial remainder stays below the divisor (D_WIDTH bits; the trial value needs D_WIDTH + 1).
//
// Handshake and timing: `start` is accepted in any cycle with !busy (including the cycle `done` is high) and samples
// `dividend` and `divisor`. `busy` is high for the ITER cycles after start, then `done` pulses for one cycle (busy
// low) with `quotient` valid; `quotient` holds until the next accepted start. start -> done is ITER + 1 cycles, and
// back-to-back operations (start in the done cycle) run one division every ITER + 1 cycles. A start while busy is
// ignored: the running division is not disturbed and the ignored operation is lost (tested). A zero divisor is
// illegal (simulation asserts), and a quotient that does not fit Q_WIDTH bits comes out wrong (the caller's
// guarantee).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module udiv #(
    parameter int N_WIDTH = 48,  // dividend width (unsigned)
    parameter int D_WIDTH = 32,  // divisor width (unsigned, must be nonzero when started)
    parameter int Q_WIDTH = 48   // quotient width; the caller guarantees dividend / divisor < 2**Q_WIDTH
) (
    input  wire logic               clk,
    input  wire logic               rst,
    input  wire logic               start,      // accepted when !busy; samples dividend and divisor
    input  wire logic [N_WIDTH-1:0] dividend,
    input  wire logic [D_WIDTH-1:0] divisor,
    output wire logic               busy,       // high from the cycle after start until done
    output wire logic               done,       // one-cycle pulse: quotient valid (held until next start)
    output wire logic [Q_WIDTH-1:0] quotient    // floor(dividend / divisor)
);

// Quotient bits actually computed: a quotient never has more bits than the dividend.
localparam int ITER = Q_WIDTH < N_WIDTH ? Q_WIDTH : N_WIDTH;
// Dividend bits above the computed ones (they form the initial partial remainder).
localparam int TOP_WIDTH = N_WIDTH - ITER;
localparam int CNT_WIDTH = $clog2(ITER + 1);

if (N_WIDTH < 1 || D_WIDTH < 1 || Q_WIDTH < 1) begin : g_check_width
    $fatal(1, "udiv: widths must be positive (N_WIDTH %0d, D_WIDTH %0d, Q_WIDTH %0d)", N_WIDTH, D_WIDTH, Q_WIDTH);
end

// Partial remainder, and one register holding the dividend bits still to shift in (at the top) and the quotient
// bits produced so far (at the bottom).
logic [D_WIDTH-1:0]   rem_reg, rem_next;
logic [ITER-1:0]      dq_reg, dq_next;
logic [CNT_WIDTH-1:0] count_reg, count_next;
logic                 busy_reg, busy_next;
logic                 done_reg, done_next;
logic [D_WIDTH-1:0]   divisor_reg, divisor_next;

// One restoring step, combinational.
logic [D_WIDTH:0] trial;
logic             fits;

assign busy = busy_reg;
assign done = done_reg;
assign quotient = Q_WIDTH'(dq_reg);

always_comb begin
    trial = {rem_reg, dq_reg[ITER-1]};
    fits = trial >= {1'b0, divisor_reg};

    rem_next = rem_reg;
    dq_next = dq_reg;
    count_next = count_reg;
    busy_next = busy_reg;
    done_next = 1'b0;
    divisor_next = divisor_reg;

    if (busy_reg) begin
        rem_next = fits ? D_WIDTH'(trial - {1'b0, divisor_reg}) : D_WIDTH'(trial);
        dq_next = (dq_reg << 1) | ITER'(fits);
        count_next = count_reg - 1'b1;
        if (count_reg == CNT_WIDTH'(1)) begin
            busy_next = 1'b0;
            done_next = 1'b1;
        end
    end else if (start) begin
        // The top dividend bits are below the divisor by the caller's guarantee, so they fit D_WIDTH bits.
        if (TOP_WIDTH > 0) begin
            rem_next = D_WIDTH'(dividend >> ITER);
        end else begin
            rem_next = '0;
        end
        dq_next = dividend[ITER-1:0];
        divisor_next = divisor;
        count_next = CNT_WIDTH'(ITER);
        busy_next = 1'b1;
    end
end

always_ff @(posedge clk) begin
    rem_reg <= rem_next;
    dq_reg <= dq_next;
    count_reg <= count_next;
    busy_reg <= busy_next;
    done_reg <= done_next;
    divisor_reg <= divisor_next;
    if (rst) begin
        busy_reg <= 1'b0;
        done_reg <= 1'b0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && start) begin
        assert (busy_reg || divisor != '0) else $error("udiv: division by zero");
    end
end
`endif

endmodule : udiv

`resetall
