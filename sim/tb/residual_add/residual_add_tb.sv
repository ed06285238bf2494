// Testbench top for hw/rtl/residual_add.sv: N_CFG instances with their own PARALLEL (packed list, entry k at
// [k*32 +: 32]), one Verilator build for all; `sel` connects one instance to the shared ports (the others see
// tvalid = 0). The shared data ports are P_MAX lanes wide; an instance uses the low lanes.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module residual_add_tb #(
    parameter int N_CFG = 1,                       // number of DUT instances (<= 8)
    parameter logic [8*32-1:0] PARALLELS = 256'd4, // per instance: PARALLEL
    parameter int P_MAX = 4,                       // max PARALLEL
    parameter int FRAC_WIDTH = 6                   // shared frac port width
) (
    input  wire logic                         clk,
    input  wire logic                         rst,
    input  wire logic [2:0]                   sel,
    input  wire logic signed [FRAC_WIDTH-1:0] fx,
    input  wire logic signed [FRAC_WIDTH-1:0] fr,
    input  wire logic signed [FRAC_WIDTH-1:0] f_out,

    input  wire logic [P_MAX*8-1:0]           s_axis_x_tdata,
    input  wire logic                         s_axis_x_tvalid,
    output      logic                         s_axis_x_tready,
    input  wire logic                         s_axis_x_tlast,

    input  wire logic [P_MAX*8-1:0]           s_axis_r_tdata,
    input  wire logic                         s_axis_r_tvalid,
    output      logic                         s_axis_r_tready,
    input  wire logic                         s_axis_r_tlast,

    output      logic [P_MAX*8-1:0]           m_axis_tdata,
    output      logic                         m_axis_tvalid,
    input  wire logic                         m_axis_tready,
    output      logic                         m_axis_tlast
);

logic [N_CFG-1:0]              x_tready_v, r_tready_v, m_tvalid_v, m_tlast_v;
logic [N_CFG-1:0][P_MAX*8-1:0] m_tdata_v;

for (genvar k = 0; k < N_CFG; k++) begin : g_cfg
    localparam int PARALLEL = int'(PARALLELS[k*32 +: 32]);
    wire on = sel == 3'(k);
    logic [PARALLEL*8-1:0] m_tdata;

    residual_add #(
        .PARALLEL(PARALLEL),
        .FRAC_WIDTH(FRAC_WIDTH)
    ) dut (
        .clk(clk),
        .rst(rst),
        .fx(fx),
        .fr(fr),
        .f_out(f_out),
        .s_axis_x_tdata(s_axis_x_tdata[PARALLEL*8-1:0]),
        .s_axis_x_tvalid(s_axis_x_tvalid && on),
        .s_axis_x_tready(x_tready_v[k]),
        .s_axis_x_tlast(s_axis_x_tlast),
        .s_axis_r_tdata(s_axis_r_tdata[PARALLEL*8-1:0]),
        .s_axis_r_tvalid(s_axis_r_tvalid && on),
        .s_axis_r_tready(r_tready_v[k]),
        .s_axis_r_tlast(s_axis_r_tlast),
        .m_axis_tdata(m_tdata),
        .m_axis_tvalid(m_tvalid_v[k]),
        .m_axis_tready(m_axis_tready && on),
        .m_axis_tlast(m_tlast_v[k])
    );

    assign m_tdata_v[k] = (P_MAX*8)'(m_tdata);
end

always_comb begin
    s_axis_x_tready = 1'b0;
    s_axis_r_tready = 1'b0;
    m_axis_tvalid = 1'b0;
    m_axis_tlast = 1'b0;
    m_axis_tdata = '0;
    for (int k = 0; k < N_CFG; k++) begin
        if (sel == 3'(k)) begin
            s_axis_x_tready = x_tready_v[k];
            s_axis_r_tready = r_tready_v[k];
            m_axis_tvalid = m_tvalid_v[k];
            m_axis_tlast = m_tlast_v[k];
            m_axis_tdata = m_tdata_v[k];
        end
    end
end

endmodule : residual_add_tb

`resetall
