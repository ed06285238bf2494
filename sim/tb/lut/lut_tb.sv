// Testbench top for hw/rtl/lut.sv: N_CFG instances with their own PARALLEL (packed list, entry k at
// [k*32 +: 32]), one Verilator build for all; `sel` connects one instance to the shared ports (the others see
// tvalid = 0 and no table writes). The shared data ports are P_MAX lanes wide; an instance uses the low lanes.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module lut_tb #(
    parameter int N_CFG = 1,                       // number of DUT instances (<= 8)
    parameter logic [8*32-1:0] PARALLELS = 256'd4, // per instance: PARALLEL
    parameter int P_MAX = 4                        // max PARALLEL
) (
    input  wire logic               clk,
    input  wire logic               rst,
    input  wire logic [2:0]         sel,

    input  wire logic               tbl_wr_en,
    input  wire logic [7:0]         tbl_wr_addr,
    input  wire logic [7:0]         tbl_wr_data,

    input  wire logic [P_MAX*8-1:0] s_axis_tdata,
    input  wire logic               s_axis_tvalid,
    output      logic               s_axis_tready,
    input  wire logic               s_axis_tlast,

    output      logic [P_MAX*8-1:0] m_axis_tdata,
    output      logic               m_axis_tvalid,
    input  wire logic               m_axis_tready,
    output      logic               m_axis_tlast
);

logic [N_CFG-1:0]              s_tready_v, m_tvalid_v, m_tlast_v;
logic [N_CFG-1:0][P_MAX*8-1:0] m_tdata_v;

for (genvar k = 0; k < N_CFG; k++) begin : g_cfg
    localparam int PARALLEL = int'(PARALLELS[k*32 +: 32]);
    wire on = sel == 3'(k);
    logic [PARALLEL*8-1:0] m_tdata;

    lut #(
        .PARALLEL(PARALLEL)
    ) dut (
        .clk(clk),
        .rst(rst),
        .wr_set(1'b0),
        .rd_set(1'b0),
        .tbl_wr_en(tbl_wr_en && on),
        .tbl_wr_addr(tbl_wr_addr),
        .tbl_wr_data(tbl_wr_data),
        .s_axis_tdata(s_axis_tdata[PARALLEL*8-1:0]),
        .s_axis_tvalid(s_axis_tvalid && on),
        .s_axis_tready(s_tready_v[k]),
        .s_axis_tlast(s_axis_tlast),
        .m_axis_tdata(m_tdata),
        .m_axis_tvalid(m_tvalid_v[k]),
        .m_axis_tready(m_axis_tready && on),
        .m_axis_tlast(m_tlast_v[k])
    );

    assign m_tdata_v[k] = (P_MAX*8)'(m_tdata);
end

always_comb begin
    s_axis_tready = 1'b0;
    m_axis_tvalid = 1'b0;
    m_axis_tlast = 1'b0;
    m_axis_tdata = '0;
    for (int k = 0; k < N_CFG; k++) begin
        if (sel == 3'(k)) begin
            s_axis_tready = s_tready_v[k];
            m_axis_tvalid = m_tvalid_v[k];
            m_axis_tlast = m_tlast_v[k];
            m_axis_tdata = m_tdata_v[k];
        end
    end
end

endmodule : lut_tb

`resetall
