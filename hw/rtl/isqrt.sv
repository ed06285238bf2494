// Integer square root, root = floor(sqrt(radicand)), digit by digit (restoring), one root bit per cycle.
//
// Contract: docs/arithmetic.md §2.6; golden model spvit.sim.golden.arith.isqrt, HLS twin isqrt in hw/hls/arith.hpp.
// Exact for every N_WIDTH-bit radicand (the contract needs 0 <= n < 2**62: N_WIDTH = 62 or 63 for LayerNorm's
// 2**62 // V, which is 2**62 itself when V = 1).
//
// Algorithm: the radicand is consumed two bits per step from the top. With partial root y and remainder
// rem = (radicand so far) - y**2, each step forms rem' = 4 rem + (next two bits) and the trial 4 y + 1 =
// (2 y + 1)**2 - (2 y)**2; where rem' >= trial the root bit is 1 and rem' -= trial. The remainder never exceeds 2 y,
// so R_WIDTH + 2 bits hold it.
//
// Handshake and timing (as udiv.sv): `start` is accepted when !busy (also in the done cycle) and samples
// `radicand`; `busy` is high for the R_WIDTH cycles after start, then `done` pulses for one cycle with `root`
// valid, held until the next accepted start. start -> done is R_WIDTH + 1 cycles; back-to-back, one square root every
// R_WIDTH + 1 cycles. A start while busy is ignored.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module isqrt #(
    parameter int N_WIDTH = 63  // radicand width (unsigned)
) (
    input  wire logic                         clk,
    input  wire logic                         rst,
    input  wire logic                         start,     // accepted when !busy; samples radicand
    input  wire logic [N_WIDTH-1:0]           radicand,
    output wire logic                         busy,      // high from the cycle after start until done
    output wire logic                         done,      // one-cycle pulse: root valid (held until next start)
    output wire logic [(N_WIDTH+1)/2-1:0]     root       // floor(sqrt(radicand))
);

// Root bits: one per pair of radicand bits.
localparam int R_WIDTH = (N_WIDTH + 1) / 2;
localparam int REM_WIDTH = R_WIDTH + 2;
localparam int CNT_WIDTH = $clog2(R_WIDTH + 1);

if (N_WIDTH < 1) begin : g_check_width
    $fatal(1, "isqrt: N_WIDTH (%0d) must be positive", N_WIDTH);
end

logic [2*R_WIDTH-1:0] rad_reg, rad_next;   // radicand bits still to consume, at the top
logic [REM_WIDTH-1:0] rem_reg, rem_next;
logic [R_WIDTH-1:0]   root_reg, root_next;
logic [CNT_WIDTH-1:0] count_reg, count_next;
logic                 busy_reg, busy_next;
logic                 done_reg, done_next;

// One step, combinational.
logic [REM_WIDTH-1:0] cur;
logic [REM_WIDTH-1:0] trial;
logic                 fits;

assign busy = busy_reg;
assign done = done_reg;
assign root = root_reg;

always_comb begin
    cur = {rem_reg[REM_WIDTH-3:0], rad_reg[2*R_WIDTH-1 -: 2]};
    trial = {root_reg, 2'b01};
    fits = cur >= trial;

    rad_next = rad_reg;
    rem_next = rem_reg;
    root_next = root_reg;
    count_next = count_reg;
    busy_next = busy_reg;
    done_next = 1'b0;

    if (busy_reg) begin
        rad_next = rad_reg << 2;
        rem_next = fits ? cur - trial : cur;
        root_next = (root_reg << 1) | R_WIDTH'(fits);
        count_next = count_reg - 1'b1;
        if (count_reg == CNT_WIDTH'(1)) begin
            busy_next = 1'b0;
            done_next = 1'b1;
        end
    end else if (start) begin
        rad_next = (2*R_WIDTH)'(radicand);
        rem_next = '0;
        root_next = '0;
        count_next = CNT_WIDTH'(R_WIDTH);
        busy_next = 1'b1;
    end
end

always_ff @(posedge clk) begin
    rad_reg <= rad_next;
    rem_reg <= rem_next;
    root_reg <= root_next;
    count_reg <= count_next;
    busy_reg <= busy_next;
    done_reg <= done_next;
    if (rst) begin
        busy_reg <= 1'b0;
        done_reg <= 1'b0;
    end
end

endmodule : isqrt

`resetall
