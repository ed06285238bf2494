// Signed division rounded half up, quotient = rdiv(n, d) = floor((2 n + d) / (2 d)) for d > 0, on a sequential
// unsigned divider (udiv.sv).
//
// Contract: docs/arithmetic.md §2.4; golden model spvit.sim.golden.arith.rdiv, HLS twin rdiv in hw/hls/arith.hpp.
//
// With t = 2 n + d, the result is floor(t / (2 d)). For t >= 0 that is the unsigned quotient of t by 2 d; for t < 0,
// floor(t / b) = -1 - floor((-1 - t) / b), and -1 - t = ~t >= 0, so the unsigned divider sees ~t and the result is
// the bitwise NOT of its quotient. No remainder and no correction step are needed: the sign of t selects an inverter
// on the way in and on the way out. The unsigned quotient u satisfies u < 2**(Q_WIDTH-1) exactly when the signed
// result fits Q_WIDTH bits, so the divider runs Q_WIDTH - 1 steps. Q_WIDTH = N_WIDTH holds every result (|rdiv(n, d)|
// <= |n| for d >= 1, and rdiv(n, 1) = n); a narrower Q_WIDTH is the caller's guarantee that the result fits.
//
// Handshake and timing (those of udiv.sv): `start` is accepted when !busy (also in the done cycle) and samples
// `dividend` and `divisor`; `busy` is high for the Q_WIDTH - 1 cycles after start, then `done` pulses for one cycle
// with `quotient` valid, held until the next accepted start. start -> done is Q_WIDTH cycles; back-to-back, one
// division every Q_WIDTH cycles. A start while busy is ignored. divisor = 0 is illegal (simulation asserts).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module rdiv #(
    parameter int N_WIDTH = 48,  // numerator (dividend) width, signed
    parameter int D_WIDTH = 32,  // denominator (divisor) width, unsigned, nonzero when started
    parameter int Q_WIDTH = 48   // result width, signed; the caller guarantees the result fits (always when >= N_WIDTH)
) (
    input  wire logic                      clk,
    input  wire logic                      rst,
    input  wire logic                      start,     // accepted when !busy; samples dividend and divisor
    input  wire logic signed [N_WIDTH-1:0] dividend,  // n
    input  wire logic        [D_WIDTH-1:0] divisor,   // d > 0
    output wire logic                      busy,      // high from the cycle after start until done
    output wire logic                      done,      // one-cycle pulse: quotient valid (held until next start)
    output wire logic signed [Q_WIDTH-1:0] quotient   // floor((2 n + d) / (2 d))
);

// t = 2 n + d, signed: 2 n needs N_WIDTH + 1 bits, d (as a positive signed value) D_WIDTH + 1, the sum one more.
localparam int T_WIDTH = (N_WIDTH > D_WIDTH ? N_WIDTH : D_WIDTH) + 2;
// |t| (or ~t for negative t) is non-negative and fits T_WIDTH - 1 bits; the divisor 2 d needs D_WIDTH + 1.
localparam int U_WIDTH = T_WIDTH - 1;
localparam int UQ_WIDTH = Q_WIDTH - 1;

if (N_WIDTH < 2 || D_WIDTH < 1 || Q_WIDTH < 2) begin : g_check_width
    $fatal(1, "rdiv: need N_WIDTH >= 2, D_WIDTH >= 1, Q_WIDTH >= 2 (got %0d, %0d, %0d)", N_WIDTH, D_WIDTH, Q_WIDTH);
end

logic signed [T_WIDTH-1:0]  t;
logic        [U_WIDTH-1:0]  magnitude;
logic        [UQ_WIDTH-1:0] uquot;
logic                       udiv_busy;
// The sign of t of the division in flight (or finished): selects the output inverter.
logic                       neg_reg, neg_next;

always_comb begin
    t = (T_WIDTH'(dividend) <<< 1) + $signed({{(T_WIDTH-D_WIDTH){1'b0}}, divisor});
    magnitude = t[T_WIDTH-1] ? U_WIDTH'(~t) : U_WIDTH'(t);
    neg_next = (start && !udiv_busy) ? t[T_WIDTH-1] : neg_reg;
end

always_ff @(posedge clk) begin
    neg_reg <= neg_next;
end

udiv #(
    .N_WIDTH(U_WIDTH),
    .D_WIDTH(D_WIDTH + 1),
    .Q_WIDTH(UQ_WIDTH)
) udiv_inst (
    .clk(clk),
    .rst(rst),
    .start(start),
    .dividend(magnitude),
    .divisor({divisor, 1'b0}),
    .busy(udiv_busy),
    .done(done),
    .quotient(uquot)
);

assign busy = udiv_busy;
// Positive t: {0, u}; negative t: -1 - u = ~{0, u} = {1, ~u}.
assign quotient = neg_reg ? {1'b1, ~uquot} : {1'b0, uquot};

endmodule : rdiv

`resetall
