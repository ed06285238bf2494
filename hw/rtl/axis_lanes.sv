// AXI-Stream lane-count converter: IN_LANES lanes of LANE_WIDTH bits per input beat to OUT_LANES per output beat, one
// of the two dividing the other; lane order is preserved (lane 0 in the low bits, the first beat's lanes first).
//
// No arithmetic of docs/arithmetic.md lives here: it joins kernels whose natural widths differ (e.g. a linear
// layer's PE output lanes and the next layer's SIMD input lanes) inside the encoder block.
// Upsizing (OUT = K IN): K input beats make one output beat; tlast must come on the K-th of them (it is copied).
// Downsizing (IN = K OUT): one input beat makes K output beats, tlast on the K-th. Equal widths: wires.
// Throughput: one input beat per cycle upsizing, one output beat per cycle downsizing (full rate either way).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axis_lanes #(
    parameter int LANE_WIDTH = 8,  // bits per lane
    parameter int IN_LANES = 4,    // lanes per input beat
    parameter int OUT_LANES = 16   // lanes per output beat
) (
    input  wire logic                                clk,
    input  wire logic                                rst,

    input  wire logic [IN_LANES*LANE_WIDTH-1:0]      s_axis_tdata,
    input  wire logic                                s_axis_tvalid,
    output wire logic                                s_axis_tready,
    input  wire logic                                s_axis_tlast,

    output wire logic [OUT_LANES*LANE_WIDTH-1:0]     m_axis_tdata,
    output wire logic                                m_axis_tvalid,
    input  wire logic                                m_axis_tready,
    output wire logic                                m_axis_tlast
);

localparam int IN_WIDTH = IN_LANES * LANE_WIDTH;
localparam int OUT_WIDTH = OUT_LANES * LANE_WIDTH;

if (IN_LANES < 1 || OUT_LANES < 1 || (IN_LANES % OUT_LANES != 0 && OUT_LANES % IN_LANES != 0)) begin : g_check
    $fatal(1, "axis_lanes: one of IN_LANES (%0d) and OUT_LANES (%0d) must divide the other", IN_LANES, OUT_LANES);
end

if (IN_LANES == OUT_LANES) begin : g_pass
    assign m_axis_tdata = s_axis_tdata;
    assign m_axis_tvalid = s_axis_tvalid;
    assign s_axis_tready = m_axis_tready;
    assign m_axis_tlast = s_axis_tlast;
    wire unused = &{1'b0, clk, rst};
end else if (OUT_LANES > IN_LANES) begin : g_up
    localparam int K = OUT_LANES / IN_LANES;
    localparam int CW = $clog2(K);
    // The first K-1 beats collect in asm_reg; the K-th completes the output register.
    logic [K-2:0][IN_WIDTH-1:0] asm_reg;
    logic [CW-1:0]              count_reg;
    logic [OUT_WIDTH-1:0]       out_reg;
    logic                       out_valid_reg, out_last_reg;
    wire                        completes = count_reg == CW'(K - 1);

    assign s_axis_tready = !completes || !out_valid_reg || m_axis_tready;
    assign m_axis_tdata = out_reg;
    assign m_axis_tvalid = out_valid_reg;
    assign m_axis_tlast = out_last_reg;

    always_ff @(posedge clk) begin
        if (m_axis_tready) begin
            out_valid_reg <= 1'b0;
        end
        if (s_axis_tvalid && s_axis_tready) begin
            if (!completes) begin
                asm_reg[count_reg] <= s_axis_tdata;
            end
            count_reg <= count_reg + 1'b1;
            if (completes) begin
                count_reg <= '0;
                out_reg <= {s_axis_tdata, asm_reg[K-2:0]};
                out_valid_reg <= 1'b1;
                out_last_reg <= s_axis_tlast;
            end
        end
        if (rst) begin
            count_reg <= '0;
            out_valid_reg <= 1'b0;
        end
    end
`ifndef SYNTHESIS
    always_ff @(posedge clk) begin
        if (!rst && s_axis_tvalid && s_axis_tready && s_axis_tlast) begin
            assert (completes) else $error("axis_lanes: tlast on input beat %0d of %0d", count_reg, K);
        end
    end
`endif
end else begin : g_down
    localparam int K = IN_LANES / OUT_LANES;
    localparam int CW = $clog2(K);
    logic [K-1:0][OUT_WIDTH-1:0] in_reg;
    logic                        valid_reg, last_reg;
    logic [CW-1:0]               count_reg;
    wire                         final_piece = count_reg == CW'(K - 1);

    assign s_axis_tready = !valid_reg || (m_axis_tready && final_piece);
    assign m_axis_tdata = in_reg[count_reg];
    assign m_axis_tvalid = valid_reg;
    assign m_axis_tlast = last_reg && final_piece;

    always_ff @(posedge clk) begin
        if (valid_reg && m_axis_tready) begin
            count_reg <= count_reg + 1'b1;
            if (final_piece) begin
                count_reg <= '0;
                valid_reg <= 1'b0;
            end
        end
        if (s_axis_tvalid && s_axis_tready) begin
            in_reg <= s_axis_tdata;
            valid_reg <= 1'b1;
            last_reg <= s_axis_tlast;
        end
        if (rst) begin
            count_reg <= '0;
            valid_reg <= 1'b0;
        end
    end
end

endmodule : axis_lanes

`resetall
