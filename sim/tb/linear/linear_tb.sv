// Testbench top for hw/rtl/linear.sv: N_CFG instances of the DUT, each with its own parameter set and its own
// weight and bias memories (BRAM models with MEM_LATENCY cycles of read latency: 1 = registered read, 2 = plus an
// output register, written by the testbench through simple write ports as the encoder block will fill them over
// AXI). One Verilator build covers every parameter set; `sel` connects one instance to the shared ports (the
// others see tvalid = 0 and write enables 0). Per-instance parameters come in packed lists, entry k at
// [k*32 +: 32]; the shared ports are as wide as the widest instance, which uses their low bits. s_axis_tuser goes to
// every instance: it picks a token's neuron folds where the instance has SPLIT_NF > 0 and is ignored elsewhere.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module linear_tb #(
    parameter int N_CFG = 1,                         // number of DUT instances (<= 8)
    parameter logic [8*32-1:0] IN_DIMS = 256'd16,    // per instance: IN_DIM
    parameter logic [8*32-1:0] OUT_DIMS = 256'd8,    // per instance: OUT_DIM
    parameter logic [8*32-1:0] SIMDS = 256'd4,       // per instance: SIMD
    parameter logic [8*32-1:0] PES = 256'd2,         // per instance: PE
    parameter logic [8*32-1:0] ACC_OUTS = 256'd0,    // per instance: ACC_OUT
    parameter logic [8*32-1:0] MEM_LATENCIES = 256'd1,  // per instance: MEM_LATENCY
    parameter logic [8*32-1:0] MACS_PER_DSPS = 256'd1,  // per instance: MACS_PER_DSP
    parameter logic [8*32-1:0] SPLIT_NFS = 256'd0,   // per instance: SPLIT_NF
    parameter int SHIFT_WIDTH = 7,                   // shared shift port width
    parameter int S_WIDTH = 32,                      // max SIMD*8
    parameter int M_WIDTH = 16,                      // max PE*8 or PE*32
    parameter int W_WIDTH = 64,                      // max PE*SIMD*8
    parameter int B_WIDTH = 64,                      // max PE*32
    parameter int WA_WIDTH = 4,                      // max weight address width
    parameter int BA_WIDTH = 2                       // max bias address width
) (
    input  wire logic                          clk,
    input  wire logic                          rst,
    input  wire logic [2:0]                    sel,
    input  wire logic signed [SHIFT_WIDTH-1:0] shift,

    input  wire logic [S_WIDTH-1:0]            s_axis_tdata,
    input  wire logic                          s_axis_tvalid,
    output      logic                          s_axis_tready,
    input  wire logic                          s_axis_tlast,
    input  wire logic                          s_axis_tuser,

    output      logic [M_WIDTH-1:0]            m_axis_tdata,
    output      logic                          m_axis_tvalid,
    input  wire logic                          m_axis_tready,
    output      logic                          m_axis_tlast,

    input  wire logic                          w_wr_en,
    input  wire logic [WA_WIDTH-1:0]           w_wr_addr,
    input  wire logic [W_WIDTH-1:0]            w_wr_data,
    input  wire logic                          b_wr_en,
    input  wire logic [BA_WIDTH-1:0]           b_wr_addr,
    input  wire logic [B_WIDTH-1:0]            b_wr_data
);

logic [N_CFG-1:0]              s_tready_v, m_tvalid_v, m_tlast_v;
logic [N_CFG-1:0][M_WIDTH-1:0] m_tdata_v;

for (genvar k = 0; k < N_CFG; k++) begin : g_cfg
    localparam int IN_DIM = int'(IN_DIMS[k*32 +: 32]);
    localparam int OUT_DIM = int'(OUT_DIMS[k*32 +: 32]);
    localparam int SIMD = int'(SIMDS[k*32 +: 32]);
    localparam int PE = int'(PES[k*32 +: 32]);
    localparam bit ACC_OUT = ACC_OUTS[k*32];
    localparam int MEM_LATENCY = int'(MEM_LATENCIES[k*32 +: 32]);
    localparam int MACS_PER_DSP = int'(MACS_PER_DSPS[k*32 +: 32]);
    localparam int SPLIT_NF = int'(SPLIT_NFS[k*32 +: 32]);
    localparam int SF = IN_DIM / SIMD;
    localparam int NF = OUT_DIM / PE;
    localparam int WA = NF * SF > 1 ? $clog2(NF * SF) : 1;
    localparam int BA = NF > 1 ? $clog2(NF) : 1;
    localparam int OUT_BITS = PE * (ACC_OUT ? 32 : 8);

    wire on = sel == 3'(k);

    logic [WA-1:0]          w_rd_addr;
    logic [BA-1:0]          b_rd_addr;
    logic [PE*SIMD*8-1:0]   w_mem [NF * SF];
    logic [PE*32-1:0]       b_mem [NF];
    logic [PE*SIMD*8-1:0]   w_q_reg, w_rd_data;
    logic [PE*32-1:0]       b_q_reg, b_rd_data;
    logic [OUT_BITS-1:0]    m_tdata;

    always_ff @(posedge clk) begin
        if (on && w_wr_en) begin
            w_mem[w_wr_addr[WA-1:0]] <= w_wr_data[PE*SIMD*8-1:0];
        end
        if (on && b_wr_en) begin
            b_mem[b_wr_addr[BA-1:0]] <= b_wr_data[PE*32-1:0];
        end
        w_q_reg <= w_mem[w_rd_addr];
        b_q_reg <= b_mem[b_rd_addr];
    end

    if (MEM_LATENCY == 2) begin : g_out_reg
        always_ff @(posedge clk) begin
            w_rd_data <= w_q_reg;
            b_rd_data <= b_q_reg;
        end
    end else begin : g_no_out_reg
        assign w_rd_data = w_q_reg;
        assign b_rd_data = b_q_reg;
    end

    linear #(
        .IN_DIM(IN_DIM),
        .OUT_DIM(OUT_DIM),
        .SIMD(SIMD),
        .PE(PE),
        .ACC_OUT(ACC_OUT),
        .SHIFT_WIDTH(SHIFT_WIDTH),
        .MEM_LATENCY(MEM_LATENCY),
        .MACS_PER_DSP(MACS_PER_DSP),
        .SPLIT_NF(SPLIT_NF)
    ) dut (
        .clk(clk),
        .rst(rst),
        .shift(shift),
        .s_axis_tdata(s_axis_tdata[SIMD*8-1:0]),
        .s_axis_tvalid(s_axis_tvalid && on),
        .s_axis_tready(s_tready_v[k]),
        .s_axis_tlast(s_axis_tlast),
        .s_axis_tuser(s_axis_tuser),
        .m_axis_tdata(m_tdata),
        .m_axis_tvalid(m_tvalid_v[k]),
        .m_axis_tready(m_axis_tready && on),
        .m_axis_tlast(m_tlast_v[k]),
        .w_rd_addr(w_rd_addr),
        .w_rd_data(w_rd_data),
        .b_rd_addr(b_rd_addr),
        .b_rd_data(b_rd_data)
    );

    assign m_tdata_v[k] = M_WIDTH'(m_tdata);
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

endmodule : linear_tb

`resetall
