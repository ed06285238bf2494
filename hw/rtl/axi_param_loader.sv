// AXI4 read master that streams `words` consecutive 128-bit words from DDR, starting at byte address `base`, out on an
// AXI-Stream, in address order: the encoder block's parameter fetch (docs/hls.md: a block's parameters are one run
// of 128-bit words in load_block_params() order, as spvit.sim.hls_kernels.pack_words lays them out).
//
// No arithmetic of docs/arithmetic.md lives here. AXI: INCR bursts of up to MAX_BURST beats of 16 bytes, never
// crossing a 4 KiB boundary, up to MAX_OUTSTANDING bursts in flight; `base` must be 16-byte aligned. The R channel
// drives m_axis directly (rready = m_axis_tready), so m_axis backpressure throttles the read data. A response other
// than OKAY/EXOKAY sets `error` (the words are still delivered). `start` is accepted while !busy; `done` pulses in
// the cycle after the last word left on m_axis. A reset mid-transfer abandons it (the memory side is reset with it).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axi_param_loader #(
    parameter int ADDR_WIDTH = 40,       // AXI byte address width
    parameter int ID_WIDTH = 1,          // AXI ID width (one ID: in-order data)
    parameter int COUNT_WIDTH = 20,      // width of the word count
    parameter int MAX_BURST = 256,       // beats per burst (<= 256, a power of two)
    parameter int MAX_OUTSTANDING = 4    // bursts in flight
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    input  wire logic                   start,
    input  wire logic [ADDR_WIDTH-1:0]  base,
    input  wire logic [COUNT_WIDTH-1:0] words,
    output wire logic                   busy,
    output wire logic                   done,
    output wire logic                   error,

    output wire logic [127:0]           m_axis_tdata,
    output wire logic                   m_axis_tvalid,
    input  wire logic                   m_axis_tready,

    output wire logic [ID_WIDTH-1:0]    m_axi_arid,
    output wire logic [ADDR_WIDTH-1:0]  m_axi_araddr,
    output wire logic [7:0]             m_axi_arlen,
    output wire logic [2:0]             m_axi_arsize,
    output wire logic [1:0]             m_axi_arburst,
    output wire logic                   m_axi_arlock,
    output wire logic [3:0]             m_axi_arcache,
    output wire logic [2:0]             m_axi_arprot,
    output wire logic                   m_axi_arvalid,
    input  wire logic                   m_axi_arready,
    input  wire logic [ID_WIDTH-1:0]    m_axi_rid,
    input  wire logic [127:0]           m_axi_rdata,
    input  wire logic [1:0]             m_axi_rresp,
    input  wire logic                   m_axi_rlast,
    input  wire logic                   m_axi_rvalid,
    output wire logic                   m_axi_rready
);

localparam int OUT_WIDTH = $clog2(MAX_OUTSTANDING + 1);

if (MAX_BURST < 1 || MAX_BURST > 256 || (MAX_BURST & (MAX_BURST - 1)) != 0) begin : g_check_burst
    $fatal(1, "axi_param_loader: MAX_BURST (%0d) must be a power of two in [1, 256]", MAX_BURST);
end
if (MAX_OUTSTANDING < 1) begin : g_check_out
    $fatal(1, "axi_param_loader: MAX_OUTSTANDING (%0d) must be >= 1", MAX_OUTSTANDING);
end

logic                   busy_reg, done_reg, error_reg;
logic [ADDR_WIDTH-1:0]  addr_reg;
logic [COUNT_WIDTH-1:0] ar_left_reg;   // words not yet requested
logic [COUNT_WIDTH-1:0] r_left_reg;    // words not yet delivered
logic [OUT_WIDTH-1:0]   outstanding_reg;
logic                   arvalid_reg;
logic [ADDR_WIDTH-1:0]  araddr_reg;
logic [7:0]             arlen_reg;

// Beats of the next burst: the words left, capped at MAX_BURST and at the next 4 KiB boundary.
logic [8:0]             to_boundary;
logic [COUNT_WIDTH-1:0] beats;

always_comb begin
    to_boundary = 9'd256 - 9'(addr_reg[11:4]);
    beats = ar_left_reg;
    if (beats > COUNT_WIDTH'(MAX_BURST)) begin
        beats = COUNT_WIDTH'(MAX_BURST);
    end
    if (beats > COUNT_WIDTH'(to_boundary)) begin
        beats = COUNT_WIDTH'(to_boundary);
    end
end

wire ar_fire = arvalid_reg && m_axi_arready;
wire r_fire = m_axi_rvalid && m_axi_rready;
wire burst_end = r_fire && m_axi_rlast;
wire launch = busy_reg && (!arvalid_reg || ar_fire) && ar_left_reg != '0
              && (OUT_WIDTH'(outstanding_reg) + OUT_WIDTH'(arvalid_reg) - OUT_WIDTH'(burst_end))
                 < OUT_WIDTH'(MAX_OUTSTANDING);

assign busy = busy_reg;
assign done = done_reg;
assign error = error_reg;
assign m_axis_tdata = m_axi_rdata;
assign m_axis_tvalid = m_axi_rvalid;
assign m_axi_rready = m_axis_tready;

assign m_axi_arid = '0;
assign m_axi_araddr = araddr_reg;
assign m_axi_arlen = arlen_reg;
assign m_axi_arsize = 3'd4;    // 16 bytes per beat
assign m_axi_arburst = 2'b01;  // INCR
assign m_axi_arlock = 1'b0;
assign m_axi_arcache = 4'b0011;
assign m_axi_arprot = 3'b000;
assign m_axi_arvalid = arvalid_reg;

// The single ID keeps the data in order; EXOKAY (rresp[0]) is as good as OKAY.
wire unused_rid = &{1'b0, m_axi_rid, m_axi_rresp[0]};

always_ff @(posedge clk) begin
    done_reg <= 1'b0;
    if (start && !busy_reg) begin
        busy_reg <= words != '0;
        done_reg <= words == '0;
        error_reg <= 1'b0;
        addr_reg <= {base[ADDR_WIDTH-1:4], 4'd0};
        ar_left_reg <= words;
        r_left_reg <= words;
    end
    if (ar_fire) begin
        arvalid_reg <= 1'b0;
    end
    if (launch) begin
        arvalid_reg <= 1'b1;
        araddr_reg <= addr_reg;
        arlen_reg <= 8'(beats - 1'b1);
        addr_reg <= addr_reg + (ADDR_WIDTH'(beats) << 4);
        ar_left_reg <= ar_left_reg - beats;
    end
    outstanding_reg <= outstanding_reg + OUT_WIDTH'(ar_fire) - OUT_WIDTH'(burst_end);
    if (r_fire && busy_reg) begin
        r_left_reg <= r_left_reg - 1'b1;
        if (m_axi_rresp[1]) begin
            error_reg <= 1'b1;
        end
        if (r_left_reg == COUNT_WIDTH'(1)) begin
            busy_reg <= 1'b0;
            done_reg <= 1'b1;
        end
    end
    if (rst) begin
        busy_reg <= 1'b0;
        done_reg <= 1'b0;
        error_reg <= 1'b0;
        arvalid_reg <= 1'b0;
        outstanding_reg <= '0;
        ar_left_reg <= '0;
        r_left_reg <= '0;
    end
end

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && start && !busy_reg) begin
        assert (base[3:0] == 4'd0) else $error("axi_param_loader: base address %0h not 16-byte aligned", base);
    end
end
`endif

endmodule : axi_param_loader

`resetall
