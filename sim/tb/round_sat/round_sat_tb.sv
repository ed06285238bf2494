// Testbench top for hw/rtl/round_sat.sv: N_CFG instances, each with its own parameter set (packed lists, entry k
// at [k*32 +: 32]), one Verilator build for all. Every instance sees the low bits of the shared `in_data` and
// `shift` ports; `sel` picks which instance drives `out_data` (zero-extended).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module round_sat_tb #(
    parameter int N_CFG = 1,                           // number of instances (<= 8)
    parameter logic [8*32-1:0] IN_WIDTHS = 256'd32,    // per instance: IN_WIDTH
    parameter logic [8*32-1:0] OUT_WIDTHS = 256'd8,    // per instance: OUT_WIDTH
    parameter logic [8*32-1:0] SHIFT_WIDTHS = 256'd7,  // per instance: SHIFT_WIDTH
    parameter logic [8*32-1:0] SIGNED_OUTS = 256'd1,   // per instance: SIGNED_OUT
    parameter int IN_PORT_WIDTH = 32,                  // max IN_WIDTH
    parameter int SHIFT_PORT_WIDTH = 7,                // max SHIFT_WIDTH
    parameter int OUT_PORT_WIDTH = 8                   // max OUT_WIDTH
) (
    input  wire logic [2:0]                  sel,
    input  wire logic [IN_PORT_WIDTH-1:0]    in_data,
    input  wire logic [SHIFT_PORT_WIDTH-1:0] shift,
    output      logic [OUT_PORT_WIDTH-1:0]   out_data
);

logic [N_CFG-1:0][OUT_PORT_WIDTH-1:0] out_v;

for (genvar k = 0; k < N_CFG; k++) begin : g_cfg
    localparam int IN_WIDTH = int'(IN_WIDTHS[k*32 +: 32]);
    localparam int OUT_WIDTH = int'(OUT_WIDTHS[k*32 +: 32]);
    localparam int SHIFT_WIDTH = int'(SHIFT_WIDTHS[k*32 +: 32]);
    localparam bit SIGNED_OUT = SIGNED_OUTS[k*32];
    logic [OUT_WIDTH-1:0] out;

    round_sat #(
        .IN_WIDTH(IN_WIDTH),
        .OUT_WIDTH(OUT_WIDTH),
        .SHIFT_WIDTH(SHIFT_WIDTH),
        .SIGNED_OUT(SIGNED_OUT)
    ) dut (
        .in(in_data[IN_WIDTH-1:0]),
        .shift(shift[SHIFT_WIDTH-1:0]),
        .out(out)
    );

    assign out_v[k] = OUT_PORT_WIDTH'(out);
end

always_comb begin
    out_data = '0;
    for (int k = 0; k < N_CFG; k++) begin
        if (sel == 3'(k)) begin
            out_data = out_v[k];
        end
    end
end

endmodule : round_sat_tb

`resetall
