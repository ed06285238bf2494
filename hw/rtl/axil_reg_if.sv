// AXI4-Lite slave to a simple register interface: one write and one read at a time, no wait states on the register
// side. The parent decodes reg_wr_* / reg_rd_* into its own registers (e.g. an ap_ctrl_hs control word plus
// parameter registers) and answers a read combinationally in the cycle of reg_rd_en.
//
// No arithmetic of docs/arithmetic.md lives here: this is the control plumbing of the IP tops (prune_stage.sv), whose
// register maps their headers document.
//
// Write: AWREADY and WREADY rise together, in the cycle where both AWVALID and WVALID are high and no write response
// is pending (AXI lets a slave wait for both); that cycle pulses reg_wr_en with the word-aligned address, data and
// strobes, and BVALID follows in the next cycle (BRESP OKAY). Read: ARREADY is high while no read response is
// pending; the accepted cycle pulses reg_rd_en (clear-on-read bits change in that cycle) and the parent's reg_rd_data
// is registered into RDATA with RVALID in the next cycle (RRESP OKAY). Throughput: one write every 2 cycles and one
// read every 2 cycles at most, independently; plenty for control registers.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axil_reg_if #(
    parameter int ADDR_WIDTH = 8,   // byte address width of the register space
    parameter int DATA_WIDTH = 32,  // AXI4-Lite data width (32 or 64)
    // derived
    localparam int STRB_WIDTH = DATA_WIDTH / 8
) (
    input  wire logic                  clk,
    input  wire logic                  rst,

    // AXI4-Lite slave
    input  wire logic [ADDR_WIDTH-1:0] s_axil_awaddr,
    input  wire logic [2:0]            s_axil_awprot,
    input  wire logic                  s_axil_awvalid,
    output wire logic                  s_axil_awready,
    input  wire logic [DATA_WIDTH-1:0] s_axil_wdata,
    input  wire logic [STRB_WIDTH-1:0] s_axil_wstrb,
    input  wire logic                  s_axil_wvalid,
    output wire logic                  s_axil_wready,
    output wire logic [1:0]            s_axil_bresp,
    output wire logic                  s_axil_bvalid,
    input  wire logic                  s_axil_bready,
    input  wire logic [ADDR_WIDTH-1:0] s_axil_araddr,
    input  wire logic [2:0]            s_axil_arprot,
    input  wire logic                  s_axil_arvalid,
    output wire logic                  s_axil_arready,
    output wire logic [DATA_WIDTH-1:0] s_axil_rdata,
    output wire logic [1:0]            s_axil_rresp,
    output wire logic                  s_axil_rvalid,
    input  wire logic                  s_axil_rready,

    // Register interface (addresses aligned to DATA_WIDTH / 8 bytes)
    output wire logic [ADDR_WIDTH-1:0] reg_wr_addr,
    output wire logic [DATA_WIDTH-1:0] reg_wr_data,
    output wire logic [STRB_WIDTH-1:0] reg_wr_strb,
    output wire logic                  reg_wr_en,
    output wire logic [ADDR_WIDTH-1:0] reg_rd_addr,
    output wire logic                  reg_rd_en,
    input  wire logic [DATA_WIDTH-1:0] reg_rd_data
);

localparam int BYTE_BITS = $clog2(STRB_WIDTH);

if (DATA_WIDTH != 32 && DATA_WIDTH != 64) begin : g_check_data
    $fatal(1, "axil_reg_if: DATA_WIDTH (%0d) must be 32 or 64", DATA_WIDTH);
end
if (ADDR_WIDTH <= BYTE_BITS) begin : g_check_addr
    $fatal(1, "axil_reg_if: ADDR_WIDTH (%0d) must exceed the byte-offset bits (%0d)", ADDR_WIDTH, BYTE_BITS);
end

logic                  bvalid_reg;
logic                  rvalid_reg;
logic [DATA_WIDTH-1:0] rdata_reg;

wire wr = s_axil_awvalid && s_axil_wvalid && !bvalid_reg;
wire rd = s_axil_arvalid && !rvalid_reg;

assign s_axil_awready = wr;
assign s_axil_wready = wr;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_arready = !rvalid_reg;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = rvalid_reg;

assign reg_wr_addr = {s_axil_awaddr[ADDR_WIDTH-1:BYTE_BITS], BYTE_BITS'(0)};
assign reg_wr_data = s_axil_wdata;
assign reg_wr_strb = s_axil_wstrb;
assign reg_wr_en = wr;
assign reg_rd_addr = {s_axil_araddr[ADDR_WIDTH-1:BYTE_BITS], BYTE_BITS'(0)};
assign reg_rd_en = rd;

// The protection bits and the byte offset carry nothing a register file of whole words needs.
wire unused_bits = &{1'b0, s_axil_awprot, s_axil_arprot, s_axil_awaddr[BYTE_BITS-1:0], s_axil_araddr[BYTE_BITS-1:0]};

always_ff @(posedge clk) begin
    if (wr) begin
        bvalid_reg <= 1'b1;
    end else if (s_axil_bready) begin
        bvalid_reg <= 1'b0;
    end
    if (rd) begin
        rvalid_reg <= 1'b1;
        rdata_reg <= reg_rd_data;
    end else if (s_axil_rready) begin
        rvalid_reg <= 1'b0;
    end
    if (rst) begin
        bvalid_reg <= 1'b0;
        rvalid_reg <= 1'b0;
    end
end

endmodule : axil_reg_if

`resetall
