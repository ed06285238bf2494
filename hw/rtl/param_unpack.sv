// Parameter word stream splitter: a run of 128-bit words holding NUM arrays back to back (each starting on a word, its
// elements 8, 16 or 32 bits wide in little-endian lanes) is cut into its arrays, each delivered either as whole words
// (to a word-wide memory such as lane_mem.sv) or one element per cycle (to memories with their own layout, e.g. the
// byte-lane weight memories of linear_per_head.sv or a lut.sv table).
//
// No arithmetic of docs/arithmetic.md lives here. Word layout: that of the HLS m_axi parameters (docs/hls.md,
// spvit.sim.hls_kernels.pack_words): element e of an array of W-bit elements is bits [(e % (128/W)) * W +: W] of the
// array's word e / (128/W); the array's last word is zero-padded.
//
// Outputs (one array at a time, in order; `sel` names it):
//   word_en / word_data      WORD_MODE[a] = 1: each word of array a, one per cycle (the beat's handshake cycle).
//   elem_en / elem_index /   WORD_MODE[a] = 0: each element of array a, one per cycle, with its index in the array;
//   elem_data                elem_data is the element sign-extended to 32 bits (consumers take the low bits).
//   loaded                   one-cycle pulse with the last element/word of the last array; the next word starts a
//                            new load at array 0 (a reset restarts it too).
//   tlast_error              sticky: s_axis_tlast was not on exactly the final word of a load.
// Throughput: a word per cycle for word arrays; 128/W cycles per word for element arrays (fewer for a short last
// word). s_axis_tready is high in the cycle a word is finished with.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module param_unpack #(
    parameter int NUM = 2,                                      // arrays per load
    parameter logic [NUM-1:0][23:0] COUNT = {24'd16, 24'd16},   // elements of array a at COUNT[a] (>= 1)
    parameter logic [NUM-1:0][5:0]  WIDTH = {6'd8, 6'd8},       // element width of array a: 8, 16 or 32
    parameter logic [NUM-1:0]       WORD_MODE = '0,             // 1: array a as words, 0: as elements
    // derived
    localparam int SEL_WIDTH = NUM > 1 ? $clog2(NUM) : 1
) (
    input  wire logic                 clk,
    input  wire logic                 rst,

    input  wire logic [127:0]         s_axis_tdata,
    input  wire logic                 s_axis_tvalid,
    output wire logic                 s_axis_tready,
    input  wire logic                 s_axis_tlast,

    output wire logic [SEL_WIDTH-1:0] sel,
    output wire logic                 word_en,
    output wire logic [127:0]         word_data,
    output wire logic                 elem_en,
    output wire logic [23:0]          elem_index,
    output wire logic [31:0]          elem_data,
    output wire logic                 loaded,
    output wire logic                 tlast_error
);

for (genvar a = 0; a < NUM; a++) begin : g_check
    if (COUNT[a] < 1 || (WIDTH[a] != 8 && WIDTH[a] != 16 && WIDTH[a] != 32)) begin : g_bad
        $fatal(1, "param_unpack: array %0d needs COUNT >= 1 and WIDTH 8, 16 or 32 (got %0d, %0d)", a, COUNT[a],
               WIDTH[a]);
    end
end

logic [SEL_WIDTH-1:0] arr_reg;
logic [23:0]          e_reg;         // index of the next element of the array
logic                 tlast_err_reg;

logic [23:0]          count;         // this array's COUNT, WIDTH and mode
logic [5:0]           width;
logic                 word_mode;
logic [23:0]          per_word;      // elements per word: 16, 8 or 4
logic [23:0]          lane;          // e % per_word
logic                 word_last;     // this cycle finishes the current word
logic                 arr_last;      // ... and the array
logic                 load_last;     // ... and the load
logic [31:0]          elem;

always_comb begin
    count = COUNT[0];
    width = WIDTH[0];
    word_mode = WORD_MODE[0];
    for (int a = 1; a < NUM; a++) begin
        if (int'(arr_reg) == a) begin
            count = COUNT[a];
            width = WIDTH[a];
            word_mode = WORD_MODE[a];
        end
    end
    per_word = width == 6'd8 ? 24'd16 : width == 6'd16 ? 24'd8 : 24'd4;
    lane = e_reg & (per_word - 1'b1);
    if (word_mode) begin
        word_last = 1'b1;
        arr_last = e_reg + per_word >= count;
    end else begin
        arr_last = e_reg + 1'b1 == count;
        word_last = lane == per_word - 1'b1 || arr_last;
    end
    load_last = arr_last && int'(arr_reg) == NUM - 1;
    case (width)
        6'd8: elem = 32'($signed(s_axis_tdata[8 * lane[3:0] +: 8]));
        6'd16: elem = 32'($signed(s_axis_tdata[16 * lane[2:0] +: 16]));
        default: elem = s_axis_tdata[32 * lane[1:0] +: 32];
    endcase
end

wire advance = s_axis_tvalid;  // an element or a word is delivered whenever a word is present
wire pop = advance && word_last;

assign s_axis_tready = word_last;
assign sel = arr_reg;
assign word_en = advance && word_mode;
assign word_data = s_axis_tdata;
assign elem_en = advance && !word_mode;
assign elem_index = e_reg;
assign elem_data = elem;
assign loaded = pop && load_last;
assign tlast_error = tlast_err_reg;

always_ff @(posedge clk) begin
    if (advance) begin
        e_reg <= e_reg + (word_mode ? per_word : 24'd1);
        if (arr_last) begin
            e_reg <= '0;
            arr_reg <= load_last ? '0 : arr_reg + 1'b1;
        end
    end
    if (pop && s_axis_tlast != load_last) begin
        tlast_err_reg <= 1'b1;
    end
    if (rst) begin
        arr_reg <= '0;
        e_reg <= '0;
        tlast_err_reg <= 1'b0;
    end
end

endmodule : param_unpack

`resetall
