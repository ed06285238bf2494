// One pre-LN ViT encoder block as an IP core: int8 tokens in over AXI-Stream, the block's output tokens out, its
// parameters fetched from DDR by an AXI4 read master, its run-time registers over AXI4-Lite (ap_ctrl_hs style), and
// the class-attention rows and class-token context of every head on two side streams for Adaptive Sparse ViT scoring.
//
// Contract: docs/arithmetic.md §11.2 (encoder_block), composed of §6 layernorm (layernorm.sv), §3 linear
// (linear.sv), §5.1 the q/k/v requantization (round_sat.sv), §5 attention (attention.sv, one instance per head),
// §4 residual_add (residual_add.sv), §7 lut (lut.sv) -- none of that arithmetic is repeated here. Golden model:
// spvit.sim.golden.model.encoder_block; HLS twin: encoder_block() in hw/hls/encoder_block.hpp (the same per-block
// scalars, the same parameter layout; this core leaves scoring to the pruning stage and streams the class rows out
// instead, keeps parameter sets on chip, which it can prefetch, and can hand its tokens straight to the pruning
// stage that follows it, m_axis_link).
//
//   a = LN1(x); q,k,v = requantize(slices of qkv(a)); ctx = attention(q, k, v); x1 = residual_add(x, proj(ctx))
//   y = residual_add(x1, fc2(GELU(fc1(LN2(x1)))))
//
// Streams (128-bit beats = 16 int8 channels, channel c of a token in byte c % 16 of its beat c / 16, D / 16 beats per
// token, tokens in order; tlast on the last beat of the last token):
//   s_axis           the n tokens of the image. Exactly n * D / 16 beats are taken per run; a tlast elsewhere than
//                    on the last of them sets status.framing_error (the beat counts, not tlast, frame the image).
//   m_axis           the block's n output tokens, same layout.
//   m_axis_link      (flags.link) the same beats again, for the pruning stage that follows the block (prune_stage.sv
//                    s_axis): a beat leaves when both streams have taken it, so the stage consumes the tokens as the
//                    block produces them while they also reach DDR. With flags.link = 0 nothing is sent on it.
//   m_axis_cls_p16   (flags.cls_out) row 0 of every head's p16 (§5.4: the class token's attention, uint16 frac 16):
//                    head 0's n values, then head 1's, ...; tlast ends each head's row.
//   m_axis_cls_ctx   (flags.cls_out) the class token's context of every head (§5.4): one beat of D / H int8 lanes
//                    per head, heads 0 .. H - 1, tlast on head H - 1.
//   These two are exactly the inputs of asvit_score.sv. With flags.cls_out = 0 nothing is sent on them.
// Parameters: `param_words` 128-bit words at byte address {weights_hi, weights_lo} (16-byte aligned) in the order of
// encoder_block.hpp load_block_params(): norm1 G (int16), B (int32), qkv W (int8 [3D, D] row-major), bias (int32),
// proj W, bias, norm2 G, B, fc1 W, bias, the GELU table (256 int8), fc2 W, bias; every array starts on a word, lanes
// little-endian (spvit.sim.hls_kernels.pack_words / spvit.sim.block_regs.pack_blocks). The core keeps PARAM_SETS
// parameter sets on chip, each tagged with the address it was fetched from. They are fetched at ap_start unless a set
// holds them: its fetch from the same address completed without an AXI error and flags.reload is 0 (the host sets
// reload when it rewrote the words in place); a new address takes the sets in turn (round robin), a reset forgets
// them all. With a set per block (PARAM_SETS >= depth) a model fetches its parameters once, in its first image.
// Each layer starts as soon as its own parameters have arrived, so a fetch overlaps LN1 and qkv. Prefetch
// (flags.prefetch, PARAM_SETS >= 2): once the run's own words are on chip, the core fetches the words at {next_hi,
// next_lo} into another set (never the run's) while the run goes on, and past its ap_done; the next run at that
// address finds them there, or takes the rest as they arrive (a host that always names the next block needs two sets;
// what it costs: load_cycles of the next run, the part of the fetch the previous run did not hide). With one set,
// flags.prefetch fetches the head of the words at `next` (LN1's and qkv's, the first E_QKVB words) into the LN1 and
// qkv memories once the run's qkv layer has produced its last output (the run reads only the later layers' memories
// from then on); the next run at that address fetches only the rest, which arrives while its LN1 and qkv run (it
// waits for a head still under way; a reload, or a run at another address, fetches everything).
//
// Registers (AXI4-Lite, 32 bits, byte offsets; spvit.sim.block_regs.RTL_REGS holds the same map, block_regs() and
// rtl_reg_writes() derive every value from a bundle). Hold them while a run is in flight.
//   0x00 ctrl         bit0 ap_start (write 1 to start; reads 1 until the run ends), bit1 ap_done (clear on read),
//                     bit2 ap_idle, bit3 ap_ready (= ap_idle)
//   0x10 n            tokens present, 1 .. N_MAX (clamped into that range)
//   0x14 weights_lo   byte address of the parameters, bits 31:0
//   0x18 weights_hi   bits ADDR_WIDTH-1:32
//   0x1C flags        bit0 cls_out (send the side streams), bit1 reload (fetch the parameters even if on chip),
//                     bit2 prefetch (fetch the words at `next` during the run; with PARAM_SETS = 1 their head),
//                     bit3 link (send the output tokens on m_axis_link as well)
//   0x20 ln1_eps_lo   §6 E of norm1, bits 31:0    0x24 ln1_eps_hi  bits 40:32     0x28 ln1_shift  15 + f_g - f_out
//   0x2C q_shift      qkv accumulator frac - f_q   0x30 k_shift                    0x34 v_shift    (§5.1)
//   0x38 f_qk         f_q + f_k (§5.2)             0x3C ctx_shift   8 + f_v - f_ctx (§5.3)
//   0x40 proj_shift   §2.3
//   0x44 res1_fx      §4 frac of x (block input)   0x48 res1_fr     frac of proj's output    0x4C res1_fout  of x1
//   0x50 ln2_eps_lo   0x54 ln2_eps_hi              0x58 ln2_shift
//   0x5C fc1_shift    0x60 fc2_shift
//   0x64 res2_fx      frac of x1                   0x68 res2_fr     frac of fc2's output     0x6C res2_fout  of y
//   0x70 next_lo      byte address of the parameters to prefetch, bits 31:0    0x74 next_hi  bits ADDR_WIDTH-1:32
//   read-only:
//   0x80 cycles       clock cycles from ap_start to ap_done of the last run (the measured latency)
//   0x84 load_cycles  cycles of that run spent waiting on or fetching its parameters (0 when they were on chip)
//   0x88 status       bit0 framing_error, bit1 axi_error (a read response was not OKAY), bit2 params_valid,
//                     bit3 fetching (the loader is busy: after ap_done, a prefetch)
//   0x8C info0        D | MLP hidden << 16         0x90 info1       N_MAX | H << 16
//   0x94 param_words  words fetched per block        0x98 param_sets  PARAM_SETS
//   Shifts and fracs are two's complement; only their low bits reach the kernels (7 bits; 6 for the residual fracs,
//   which residual_add.sv takes as fracs in [-8, 16] rather than as shifts), enough for every value the contract
//   allows.
//
// Schedule (one image per run, the phases overlap through the streams): the input tokens go to LN1 and into a token
// buffer (for the first residual); LN1 -> qkv (linear.sv with int32 outputs, PE lanes per beat) -> k/v requantization
// -> one {v, k} beat per token and head into H attention.sv instances, which load all the keys. Then the token buffer
// replays the image into LN1 and qkv computes the queries (linear.sv SPLIT_NF: a token's q folds only), one q beat per
// token and head: the heads compute row i as soon as q_i is in, so the queries' third of the qkv work runs under the
// attention rows instead of before them. The heads' context rows are joined into tokens -> proj -> residual with the
// buffered input -> x1, which goes to LN2 and into a second token buffer -> fc1 -> GELU -> fc2 -> residual with x1 ->
// m_axis. Lane-count converters (axis_lanes.sv) join kernels of different widths. The attention phase, quadratic in n,
// dominates for long images; the linear layers take IN * OUT / (SIMD * PE) cycles per token, the layernorms 64.
// Measured (Verilator, the defaults below, no stalls, parameters on chip; sim/tb/encoder_block writes them to the file
// SPVIT_TB_CYCLES_JSON names): n = 2: 735 cycles, 19: 3,013, 34: 5,023, 65: 10,880 (12,928 at 65 with q computed before
// the rows). A parameter fetch (2,224 words for the digits model) takes about 2,500 cycles but overlaps LN1 and qkv:
// +725 cycles at n = 65.
// Parallelism: SIMD x PE int8 MACs per linear layer, QK_SIMD + DH per head in attention; the defaults are for the
// digits model (D = 64): about 450 MACs + 128 in attention. ZCU102 (2,520 DSP48E2) scale: raise SIMD/PE per layer.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module encoder_block #(
    parameter int D = 64,             // embedding width (a multiple of 16)
    parameter int H = 4,              // heads (D / H channels each)
    parameter int M = 128,            // MLP hidden width (a multiple of 16)
    parameter int N_MAX = 67,         // most tokens per image
    parameter int LN_PARALLEL = 8,    // layernorm channels per beat (LN1, LN2)
    parameter int QKV_SIMD = 16,      // qkv: inputs per cycle (a power of two)
    parameter int QKV_PE = 8,         // qkv: outputs per cycle (divides D)
    parameter int PROJ_SIMD = 16,     // proj
    parameter int PROJ_PE = 4,
    parameter int FC1_SIMD = 16,      // fc1
    parameter int FC1_PE = 8,
    parameter int FC2_SIMD = 32,      // fc2
    parameter int FC2_PE = 4,
    parameter int QK_SIMD = 16,       // attention: products per cycle of a logit (divides D / H)
    parameter int LINEAR_MACS_PER_DSP = 1, // qkv, proj, fc1, fc2: int8 products per DSP48E2, 1 or 2 (linear.sv
                                      // MACS_PER_DSP: neighbouring PEs share one; every *_PE even)
    parameter int PARAM_SETS = 1,     // parameter sets kept on chip, each tagged with its address (a model whose
                                      // blocks all fit runs without fetching after its first image)
    parameter int ADDR_WIDTH = 40,    // m_axi byte address width
    parameter int AXIL_ADDR_WIDTH = 8 // s_axil byte address width
) (
    input  wire logic                        clk,
    input  wire logic                        rst,

    // AXI4-Lite control
    input  wire logic [AXIL_ADDR_WIDTH-1:0]  s_axil_awaddr,
    input  wire logic [2:0]                  s_axil_awprot,
    input  wire logic                        s_axil_awvalid,
    output wire logic                        s_axil_awready,
    input  wire logic [31:0]                 s_axil_wdata,
    input  wire logic [3:0]                  s_axil_wstrb,
    input  wire logic                        s_axil_wvalid,
    output wire logic                        s_axil_wready,
    output wire logic [1:0]                  s_axil_bresp,
    output wire logic                        s_axil_bvalid,
    input  wire logic                        s_axil_bready,
    input  wire logic [AXIL_ADDR_WIDTH-1:0]  s_axil_araddr,
    input  wire logic [2:0]                  s_axil_arprot,
    input  wire logic                        s_axil_arvalid,
    output wire logic                        s_axil_arready,
    output wire logic [31:0]                 s_axil_rdata,
    output wire logic [1:0]                  s_axil_rresp,
    output wire logic                        s_axil_rvalid,
    input  wire logic                        s_axil_rready,

    // AXI4 read master: parameters
    output wire logic [0:0]                  m_axi_arid,
    output wire logic [ADDR_WIDTH-1:0]       m_axi_araddr,
    output wire logic [7:0]                  m_axi_arlen,
    output wire logic [2:0]                  m_axi_arsize,
    output wire logic [1:0]                  m_axi_arburst,
    output wire logic                        m_axi_arlock,
    output wire logic [3:0]                  m_axi_arcache,
    output wire logic [2:0]                  m_axi_arprot,
    output wire logic                        m_axi_arvalid,
    input  wire logic                        m_axi_arready,
    input  wire logic [0:0]                  m_axi_rid,
    input  wire logic [127:0]                m_axi_rdata,
    input  wire logic [1:0]                  m_axi_rresp,
    input  wire logic                        m_axi_rlast,
    input  wire logic                        m_axi_rvalid,
    output wire logic                        m_axi_rready,

    // tokens
    input  wire logic [127:0]                s_axis_tdata,
    input  wire logic                        s_axis_tvalid,
    output wire logic                        s_axis_tready,
    input  wire logic                        s_axis_tlast,

    output wire logic [127:0]                m_axis_tdata,
    output wire logic                        m_axis_tvalid,
    input  wire logic                        m_axis_tready,
    output wire logic                        m_axis_tlast,

    output wire logic [127:0]                m_axis_link_tdata,
    output wire logic                        m_axis_link_tvalid,
    input  wire logic                        m_axis_link_tready,
    output wire logic                        m_axis_link_tlast,

    // class-attention side streams (asvit_score.sv's inputs)
    output wire logic [15:0]                 m_axis_cls_p16_tdata,
    output wire logic                        m_axis_cls_p16_tvalid,
    input  wire logic                        m_axis_cls_p16_tready,
    output wire logic                        m_axis_cls_p16_tlast,

    output wire logic [D/H*8-1:0]            m_axis_cls_ctx_tdata,
    output wire logic                        m_axis_cls_ctx_tvalid,
    input  wire logic                        m_axis_cls_ctx_tready,
    output wire logic                        m_axis_cls_ctx_tlast
);

localparam int DH = D / H;
localparam int BEATS = D / 16;                       // 128-bit beats per token
localparam int BEAT_CNT_WIDTH = $clog2(N_MAX * BEATS + 1);
localparam int H_WIDTH = H > 1 ? $clog2(H) : 1;

// Parameter words of each array (load_block_params() order) and where each ends.
localparam int W_LN1G = D / 8;
localparam int W_LN1B = D / 4;
localparam int W_QKVW = 3 * D * D / 16;
localparam int W_QKVB = 3 * D / 4;
localparam int W_PROJW = D * D / 16;
localparam int W_PROJB = D / 4;
localparam int W_LN2G = D / 8;
localparam int W_LN2B = D / 4;
localparam int W_FC1W = M * D / 16;
localparam int W_FC1B = M / 4;
localparam int W_ACT = 16;
localparam int W_FC2W = D * M / 16;
localparam int W_FC2B = D / 4;
localparam int E_LN1G = W_LN1G;
localparam int E_LN1B = E_LN1G + W_LN1B;
localparam int E_QKVW = E_LN1B + W_QKVW;
localparam int E_QKVB = E_QKVW + W_QKVB;
localparam int E_PROJW = E_QKVB + W_PROJW;
localparam int E_PROJB = E_PROJW + W_PROJB;
localparam int E_LN2G = E_PROJB + W_LN2G;
localparam int E_LN2B = E_LN2G + W_LN2B;
localparam int E_FC1W = E_LN2B + W_FC1W;
localparam int E_FC1B = E_FC1W + W_FC1B;
localparam int E_ACT = E_FC1B + W_ACT;
localparam int E_FC2W = E_ACT + W_FC2W;
localparam int E_FC2B = E_FC2W + W_FC2B;
localparam int PARAM_WORDS = E_FC2B;
localparam int PW_WIDTH = $clog2(PARAM_WORDS + 1);

if (D % 16 != 0 || M % 16 != 0 || H < 1 || D % H != 0) begin : g_check_dims
    $fatal(1, "encoder_block: D (%0d) and M (%0d) must be multiples of 16, and H (%0d) must divide D", D, M, H);
end
if (D % QKV_PE != 0) begin : g_check_qkv
    $fatal(1, "encoder_block: QKV_PE (%0d) must divide D (%0d): a beat never straddles q, k and v", QKV_PE, D);
end
if (N_MAX < 1 || N_MAX > 65535) begin : g_check_n
    $fatal(1, "encoder_block: N_MAX (%0d) must be in [1, 65535]", N_MAX);
end

// =====================================================================================================================
// Control registers
// =====================================================================================================================
localparam int N_CFG = 26;  // 0x10 .. 0x74
localparam int CFG_IDX_WIDTH = $clog2(N_CFG);

logic [AXIL_ADDR_WIDTH-1:0] reg_wr_addr, reg_rd_addr;
logic [31:0]                reg_wr_data;
logic [3:0]                 reg_wr_strb;
logic                       reg_wr_en, reg_rd_en;
logic [31:0]                reg_rd_data;

axil_reg_if #(
    .ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .DATA_WIDTH(32)
) ctrl_if (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .reg_wr_addr(reg_wr_addr),
    .reg_wr_data(reg_wr_data),
    .reg_wr_strb(reg_wr_strb),
    .reg_wr_en(reg_wr_en),
    .reg_rd_addr(reg_rd_addr),
    .reg_rd_en(reg_rd_en),
    .reg_rd_data(reg_rd_data)
);

logic [N_CFG-1:0][31:0] cfg_reg;
logic                   start_pending_reg, running_reg, done_reg;
logic [31:0]            cycles_reg, load_cycles_reg;
logic                   framing_error_reg, axi_error_reg;
logic                   params_valid;       // the run's set holds its parameters

// Named fields of the configuration registers.
wire [31:0]             r_n = cfg_reg[0];
wire [63:0]             r_weights = {cfg_reg[2], cfg_reg[1]};
wire [31:0]             r_flags = cfg_reg[3];
wire [40:0]             r_ln1_eps = {cfg_reg[5][8:0], cfg_reg[4]};
wire signed [6:0]       r_ln1_shift = cfg_reg[6][6:0];
wire signed [6:0]       r_q_shift = cfg_reg[7][6:0];
wire signed [6:0]       r_k_shift = cfg_reg[8][6:0];
wire signed [6:0]       r_v_shift = cfg_reg[9][6:0];
wire signed [6:0]       r_f_qk = cfg_reg[10][6:0];
wire signed [6:0]       r_ctx_shift = cfg_reg[11][6:0];
wire signed [6:0]       r_proj_shift = cfg_reg[12][6:0];
wire signed [5:0]       r_res1_fx = cfg_reg[13][5:0];
wire signed [5:0]       r_res1_fr = cfg_reg[14][5:0];
wire signed [5:0]       r_res1_fout = cfg_reg[15][5:0];
wire [40:0]             r_ln2_eps = {cfg_reg[17][8:0], cfg_reg[16]};
wire signed [6:0]       r_ln2_shift = cfg_reg[18][6:0];
wire signed [6:0]       r_fc1_shift = cfg_reg[19][6:0];
wire signed [6:0]       r_fc2_shift = cfg_reg[20][6:0];
wire signed [5:0]       r_res2_fx = cfg_reg[21][5:0];
wire signed [5:0]       r_res2_fr = cfg_reg[22][5:0];
wire signed [5:0]       r_res2_fout = cfg_reg[23][5:0];
wire [63:0]             r_next = {cfg_reg[25], cfg_reg[24]};

// Register writes (byte strobes honoured) and reads.
wire       wr_cfg = reg_wr_en && reg_wr_addr >= AXIL_ADDR_WIDTH'('h10)
                    && reg_wr_addr < AXIL_ADDR_WIDTH'('h10 + 4 * N_CFG);
wire [AXIL_ADDR_WIDTH-1:0] wr_offset = reg_wr_addr - AXIL_ADDR_WIDTH'('h10);
wire [AXIL_ADDR_WIDTH-1:0] rd_offset = reg_rd_addr - AXIL_ADDR_WIDTH'('h10);
wire [CFG_IDX_WIDTH-1:0]   wr_index = wr_offset[2 +: CFG_IDX_WIDTH];
wire [CFG_IDX_WIDTH-1:0]   rd_index = rd_offset[2 +: CFG_IDX_WIDTH];
wire       ap_start_write = reg_wr_en && reg_wr_addr == '0 && reg_wr_strb[0] && reg_wr_data[0];
wire       ap_idle = !running_reg && !start_pending_reg;

always_comb begin
    reg_rd_data = '0;
    if (reg_rd_addr >= AXIL_ADDR_WIDTH'('h10) && reg_rd_addr < AXIL_ADDR_WIDTH'('h10 + 4 * N_CFG)) begin
        reg_rd_data = cfg_reg[rd_index];
    end else begin
        case (reg_rd_addr)
            AXIL_ADDR_WIDTH'('h00): reg_rd_data = {28'd0, ap_idle, ap_idle, done_reg, start_pending_reg || running_reg};
            AXIL_ADDR_WIDTH'('h80): reg_rd_data = cycles_reg;
            AXIL_ADDR_WIDTH'('h84): reg_rd_data = load_cycles_reg;
            AXIL_ADDR_WIDTH'('h88): reg_rd_data = {28'd0, loader_busy, params_valid, axi_error_reg, framing_error_reg};
            AXIL_ADDR_WIDTH'('h8C): reg_rd_data = {16'(M), 16'(D)};
            AXIL_ADDR_WIDTH'('h90): reg_rd_data = {16'(H), 16'(N_MAX)};
            AXIL_ADDR_WIDTH'('h94): reg_rd_data = 32'(PARAM_WORDS);
            AXIL_ADDR_WIDTH'('h98): reg_rd_data = 32'(PARAM_SETS);
            default: reg_rd_data = '0;
        endcase
    end
end

always_ff @(posedge clk) begin
    if (wr_cfg) begin
        for (int b = 0; b < 4; b++) begin
            if (reg_wr_strb[b]) begin
                cfg_reg[wr_index][8*b +: 8] <= reg_wr_data[8*b +: 8];
            end
        end
    end
    if (rst) begin
        cfg_reg <= '0;
    end
end

// =====================================================================================================================
// Run control: ap_start -> (parameter fetch) -> stream the image -> ap_done
// =====================================================================================================================
logic [BEAT_CNT_WIDTH-1:0] total_reg;          // n * BEATS
logic                      cls_out_reg;
logic                      link_reg;           // flags.link of the run: the tokens also go out on m_axis_link
logic [BEAT_CNT_WIDTH-1:0] in_count_reg, out_count_reg;
logic [H-1:0]              p16_rows_reg;       // heads whose class row has left (or was dropped)
logic [H_WIDTH:0]          ctx_sent_reg;       // class-context beats sent
logic                      ctx_captured_reg;   // the class token's context is in cls_ctx_reg
logic [PW_WIDTH-1:0]       fetch_words_reg;    // words the loader has delivered into fetch_set_reg

logic                      loader_start, loader_busy, loader_done, loader_error;
logic [ADDR_WIDTH-1:0]     loader_base;
logic [PW_WIDTH-1:0]       loader_words;
logic [127:0]              pw_tdata;
logic                      pw_tvalid, pw_tready;
wire                       pw_fire = pw_tvalid && pw_tready;

wire [31:0]                n_clamped = r_n == 0 ? 32'd1 : (r_n > 32'(N_MAX) ? 32'(N_MAX) : r_n);
wire [ADDR_WIDTH-1:0]      base_addr = r_weights[ADDR_WIDTH-1:0];

// Parameter sets: each holds the words of one address (its tag). A run uses the set tagged with its address, and
// fetches into it when it is not valid or flags.reload is set; an address no set holds takes the sets in turn. With
// flags.prefetch (PARAM_SETS > 1) the loader then fetches the words at `next` into another set while the run goes on,
// possibly past ap_done: a run whose set is still being fetched takes its words as they arrive, as from its own fetch.
localparam int SET_WIDTH = PARAM_SETS > 1 ? $clog2(PARAM_SETS) : 1;
logic [PARAM_SETS-1:0]                 set_used_reg, set_valid_reg;
logic [PARAM_SETS-1:0][ADDR_WIDTH-1:0] set_tag_reg;
logic [SET_WIDTH-1:0]                  set_reg;       // the set of this run (read)
logic [SET_WIDTH-1:0]                  fetch_set_reg; // the set the loader writes
logic [SET_WIDTH-1:0]                  victim_reg;    // the next set to take for a new address
logic                                  own_wait_reg;  // the run's own fetch waits for the loader (a prefetch)
logic                                  pf_pending_reg;// the run's prefetch is not started yet
logic [ADDR_WIDTH-1:0]                 pf_addr_reg;   // its address (latched at ap_start)

// Head prefetch (PARAM_SETS = 1, flags.prefetch): the LN1 and qkv words (the head: what a run needs first) sit in
// memories the run has finished with once its qkv layer has produced its last output. The loader then fetches the
// head of `next` into them, so the next run at that address fetches only the rest (the tail), under its own LN1/qkv.
localparam bit HEAD_PF = PARAM_SETS == 1;
localparam int HEAD_WORDS = E_QKVB;
logic                                  head_pending_reg; // the run's head prefetch is not issued yet
logic                                  head_fetch_reg;   // the loader is fetching a head
logic                                  head_valid_reg;   // the LN1/qkv memories hold head_tag_reg's head
logic [ADDR_WIDTH-1:0]                 head_tag_reg;
logic                                  use_head_reg;     // the run's own fetch is its tail (its head prefetched)
logic                                  qkv_done_reg;     // the run's qkv layer has produced its last output

// The set tagged with an address, if any.
function automatic logic [SET_WIDTH:0] lookup(input logic [ADDR_WIDTH-1:0] addr,
                                              input logic [PARAM_SETS-1:0] used,
                                              input logic [PARAM_SETS-1:0][ADDR_WIDTH-1:0] tags);
    logic [SET_WIDTH:0] r = '0;  // {hit, set}
    for (int s = 0; s < PARAM_SETS; s++) begin
        if (used[s] && tags[s] == addr) begin
            r = {1'b1, SET_WIDTH'(s)};
        end
    end
    return r;
endfunction

// The set after s, round robin.
function automatic logic [SET_WIDTH-1:0] next_set(input logic [SET_WIDTH-1:0] s);
    return int'(s) == PARAM_SETS - 1 ? '0 : s + 1'b1;
endfunction

// a set that takes its words in this cycle's loader_done counts as valid (a fetch taken over by a run does not)
wire                       done_ok = loader_done && !loader_error && !(own_wait_reg && fetch_set_reg == set_reg);
wire [PARAM_SETS-1:0]      set_ready = set_valid_reg | (PARAM_SETS'(done_ok) << fetch_set_reg);

wire [SET_WIDTH:0]         run_lookup = lookup(base_addr, set_used_reg, set_tag_reg);
wire [SET_WIDTH:0]         pf_lookup = lookup(pf_addr_reg, set_used_reg, set_tag_reg);
wire                       tag_hit = run_lookup[SET_WIDTH];
wire [SET_WIDTH-1:0]       hit_set = run_lookup[SET_WIDTH-1:0];
wire                       pf_hit = pf_lookup[SET_WIDTH];
wire [SET_WIDTH-1:0]       pf_hit_set = pf_lookup[SET_WIDTH-1:0];
// a prefetch never takes the run's set (the run may be reading it)
wire [SET_WIDTH-1:0]       pf_set = pf_hit ? pf_hit_set : (victim_reg == set_reg ? next_set(victim_reg) : victim_reg);
wire                       pf_needed = pf_hit ? !set_ready[pf_hit_set] && pf_hit_set != set_reg : 1'b1;
wire                       in_flight = loader_busy && fetch_set_reg == hit_set && !head_fetch_reg;  // the hit set's
                                                                                // fetch is under way
wire                       need_load = !(tag_hit && (set_ready[hit_set] || in_flight)) || r_flags[1];
// the loader is writing the run's set for the run's address (its own fetch, or a prefetch it joined)
wire                       fetching_run_set = loader_busy && fetch_set_reg == set_reg && !own_wait_reg
                                              && !head_fetch_reg;
wire [PW_WIDTH-1:0]        run_words = own_wait_reg ? '0
                                     : (fetching_run_set ? fetch_words_reg : PW_WIDTH'(PARAM_WORDS));
assign params_valid = set_valid_reg[set_reg];
// ap_start waits for the previous run's prefetch to be issued (a cycle; longer only while the loader still
// fetches for an earlier run, when the previous run did not use that prefetch)
wire                       run_start = start_pending_reg && !running_reg && !pf_pending_reg && !head_pending_reg;
wire                       all_out = out_count_reg == total_reg;
wire                       side_done = &p16_rows_reg && (!cls_out_reg || ctx_sent_reg == (H_WIDTH+1)'(H));
wire                       run_end = running_reg && all_out && side_done && !own_wait_reg && !fetching_run_set;
wire                       own_go = !loader_busy && ((run_start && need_load) || own_wait_reg);
wire                       pf_go = !loader_busy && pf_pending_reg && !own_wait_reg && pf_needed;
// the head of the run's address is on chip or on its way (a reload fetches everything)
wire                       head_hit = HEAD_PF && head_tag_reg == base_addr && (head_valid_reg || head_fetch_reg)
                                      && !r_flags[1];
wire                       head_ok = head_valid_reg || (loader_done && head_fetch_reg && !loader_error);
wire                       own_tail = run_start ? head_hit && head_valid_reg : use_head_reg && head_ok;
wire [ADDR_WIDTH-1:0]      own_addr = run_start ? base_addr : set_tag_reg[set_reg];
wire                       head_issue = !loader_busy && head_pending_reg && qkv_done_reg && !own_wait_reg;
wire                       head_go = head_issue && pf_addr_reg != set_tag_reg[set_reg];  // not the run's own words

assign loader_start = own_go || pf_go || head_go;
assign loader_base = own_go ? own_addr + (own_tail ? ADDR_WIDTH'(16 * HEAD_WORDS) : '0) : pf_addr_reg;
assign loader_words = own_go && own_tail ? PW_WIDTH'(PARAM_WORDS - HEAD_WORDS)
                    : (head_go ? PW_WIDTH'(HEAD_WORDS) : PW_WIDTH'(PARAM_WORDS));

always_ff @(posedge clk) begin
    if (ap_start_write) begin
        start_pending_reg <= 1'b1;
    end
    if (reg_rd_en && reg_rd_addr == '0) begin
        done_reg <= 1'b0;  // clear on read
    end
    if (running_reg) begin
        cycles_reg <= cycles_reg + 1'b1;
        if (own_wait_reg || fetching_run_set) begin
            load_cycles_reg <= load_cycles_reg + 1'b1;
        end
    end
    if (pw_fire) begin
        fetch_words_reg <= fetch_words_reg + 1'b1;
    end
    if (loader_done && head_fetch_reg) begin
        head_fetch_reg <= 1'b0;
        head_valid_reg <= !loader_error;
    end else if (loader_done) begin
        // a set a run took over while it was being fetched for another address stays invalid (the run refetches)
        set_valid_reg[fetch_set_reg] <= done_ok;
        if (running_reg && fetch_set_reg == set_reg && !own_wait_reg) begin  // the run's own words (busy is low now)
            axi_error_reg <= loader_error;
        end
    end
    if (run_start) begin
        start_pending_reg <= 1'b0;
        running_reg <= 1'b1;
        cycles_reg <= 32'd1;
        load_cycles_reg <= '0;
        total_reg <= BEAT_CNT_WIDTH'(n_clamped * BEATS);
        cls_out_reg <= r_flags[0];
        link_reg <= r_flags[3];
        framing_error_reg <= 1'b0;
        axi_error_reg <= 1'b0;
        set_reg <= tag_hit ? hit_set : victim_reg;
        own_wait_reg <= need_load && loader_busy;
        pf_pending_reg <= r_flags[2] && PARAM_SETS > 1;
        pf_addr_reg <= r_next[ADDR_WIDTH-1:0];
        head_pending_reg <= r_flags[2] && HEAD_PF;
        use_head_reg <= head_hit;
        if (need_load) begin
            if (tag_hit) begin
                set_valid_reg[hit_set] <= 1'b0;
            end else begin
                set_used_reg[victim_reg] <= 1'b1;
                set_valid_reg[victim_reg] <= 1'b0;
                set_tag_reg[victim_reg] <= base_addr;
                victim_reg <= next_set(victim_reg);
            end
        end
    end
    if (own_go) begin
        own_wait_reg <= 1'b0;
        fetch_set_reg <= run_start ? (tag_hit ? hit_set : victim_reg) : set_reg;
        fetch_words_reg <= own_tail ? PW_WIDTH'(HEAD_WORDS) : '0;  // a tail's words keep their indices
        head_valid_reg <= 1'b0;  // the head is the run's now, or overwritten
    end
    if (head_issue) begin
        head_pending_reg <= 1'b0;  // issued, or not needed (the next words are the run's own)
    end
    if (head_go) begin
        head_fetch_reg <= 1'b1;
        head_tag_reg <= pf_addr_reg;
        set_valid_reg[set_reg] <= 1'b0;  // the set no longer holds the run's words whole
        fetch_set_reg <= set_reg;
        fetch_words_reg <= '0;
    end
    if (!loader_busy && pf_pending_reg && !own_wait_reg) begin
        pf_pending_reg <= 1'b0;  // issued, or not needed (the words are on chip)
    end
    if (pf_go) begin
        fetch_set_reg <= pf_set;
        fetch_words_reg <= '0;
        set_used_reg[pf_set] <= 1'b1;
        set_valid_reg[pf_set] <= 1'b0;
        set_tag_reg[pf_set] <= pf_addr_reg;
        if (!pf_hit) begin
            victim_reg <= next_set(pf_set);
        end
    end
    if (run_end) begin
        running_reg <= 1'b0;
        done_reg <= 1'b1;
    end
    if (rst) begin
        start_pending_reg <= 1'b0;
        running_reg <= 1'b0;
        done_reg <= 1'b0;
        cycles_reg <= '0;
        load_cycles_reg <= '0;
        total_reg <= '0;
        cls_out_reg <= 1'b0;
        link_reg <= 1'b0;
        framing_error_reg <= 1'b0;
        axi_error_reg <= 1'b0;
        set_used_reg <= '0;
        set_valid_reg <= '0;
        set_reg <= '0;
        fetch_set_reg <= '0;
        victim_reg <= '0;
        own_wait_reg <= 1'b0;
        pf_pending_reg <= 1'b0;
        fetch_words_reg <= '0;
        head_pending_reg <= 1'b0;
        head_fetch_reg <= 1'b0;
        head_valid_reg <= 1'b0;
        use_head_reg <= 1'b0;
    end
end

// A layer may run once its own parameters are on chip (the GELU table: once its entries are written, below).
logic tbl_busy_reg;
wire ln1_ok = run_words >= PW_WIDTH'(E_LN1B);
wire qkv_ok = run_words >= PW_WIDTH'(E_QKVB);
wire proj_ok = run_words >= PW_WIDTH'(E_PROJB);
wire ln2_ok = run_words >= PW_WIDTH'(E_LN2B);
wire fc1_ok = run_words >= PW_WIDTH'(E_FC1B);
wire act_ok = run_words >= PW_WIDTH'(E_ACT) && !(tbl_busy_reg && fetching_run_set);
wire fc2_ok = run_words >= PW_WIDTH'(E_FC2B);

// =====================================================================================================================
// Parameter fetch and on-chip parameter memories
// =====================================================================================================================
axi_param_loader #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .ID_WIDTH(1),
    .COUNT_WIDTH(PW_WIDTH),
    .MAX_BURST(256),
    .MAX_OUTSTANDING(4)
) param_loader (
    .clk(clk),
    .rst(rst),
    .start(loader_start),
    .base(loader_base),
    .words(loader_words),
    .busy(loader_busy),
    .done(loader_done),
    .error(loader_error),
    .m_axis_tdata(pw_tdata),
    .m_axis_tvalid(pw_tvalid),
    .m_axis_tready(pw_tready),
    .m_axi_arid(m_axi_arid),
    .m_axi_araddr(m_axi_araddr),
    .m_axi_arlen(m_axi_arlen),
    .m_axi_arsize(m_axi_arsize),
    .m_axi_arburst(m_axi_arburst),
    .m_axi_arlock(m_axi_arlock),
    .m_axi_arcache(m_axi_arcache),
    .m_axi_arprot(m_axi_arprot),
    .m_axi_arvalid(m_axi_arvalid),
    .m_axi_arready(m_axi_arready),
    .m_axi_rid(m_axi_rid),
    .m_axi_rdata(m_axi_rdata),
    .m_axi_rresp(m_axi_rresp),
    .m_axi_rlast(m_axi_rlast),
    .m_axi_rvalid(m_axi_rvalid),
    .m_axi_rready(m_axi_rready)
);

// Every memory takes its words as they come (a word goes to the array its index falls in), except the GELU table:
// lut.sv takes one entry per cycle, so each of its words holds the stream for 16 cycles.
logic [127:0] tbl_word_reg;
logic [7:0]   tbl_addr_reg;
logic         tbl_wr_en;
logic [7:0]   tbl_wr_addr, tbl_wr_data;

assign pw_tready = !tbl_busy_reg;
assign tbl_wr_en = tbl_busy_reg;
assign tbl_wr_addr = tbl_addr_reg;
assign tbl_wr_data = tbl_word_reg[tbl_addr_reg[3:0] * 8 +: 8];
wire pw_clear = loader_start;
wire [PW_WIDTH-1:0] pw_index = fetch_words_reg;
wire wr_ln1g = pw_fire && pw_index < PW_WIDTH'(E_LN1G);
wire wr_ln1b = pw_fire && pw_index >= PW_WIDTH'(E_LN1G) && pw_index < PW_WIDTH'(E_LN1B);
wire wr_qkvw = pw_fire && pw_index >= PW_WIDTH'(E_LN1B) && pw_index < PW_WIDTH'(E_QKVW);
wire wr_qkvb = pw_fire && pw_index >= PW_WIDTH'(E_QKVW) && pw_index < PW_WIDTH'(E_QKVB);
wire wr_projw = pw_fire && pw_index >= PW_WIDTH'(E_QKVB) && pw_index < PW_WIDTH'(E_PROJW);
wire wr_projb = pw_fire && pw_index >= PW_WIDTH'(E_PROJW) && pw_index < PW_WIDTH'(E_PROJB);
wire wr_ln2g = pw_fire && pw_index >= PW_WIDTH'(E_PROJB) && pw_index < PW_WIDTH'(E_LN2G);
wire wr_ln2b = pw_fire && pw_index >= PW_WIDTH'(E_LN2G) && pw_index < PW_WIDTH'(E_LN2B);
wire wr_fc1w = pw_fire && pw_index >= PW_WIDTH'(E_LN2B) && pw_index < PW_WIDTH'(E_FC1W);
wire wr_fc1b = pw_fire && pw_index >= PW_WIDTH'(E_FC1W) && pw_index < PW_WIDTH'(E_FC1B);
wire wr_act = pw_fire && pw_index >= PW_WIDTH'(E_FC1B) && pw_index < PW_WIDTH'(E_ACT);
wire wr_fc2w = pw_fire && pw_index >= PW_WIDTH'(E_ACT) && pw_index < PW_WIDTH'(E_FC2W);
wire wr_fc2b = pw_fire && pw_index >= PW_WIDTH'(E_FC2W) && pw_index < PW_WIDTH'(E_FC2B);

always_ff @(posedge clk) begin
    if (tbl_busy_reg) begin
        tbl_addr_reg <= tbl_addr_reg + 1'b1;
        if (tbl_addr_reg[3:0] == 4'hF) begin
            tbl_busy_reg <= 1'b0;
        end
    end
    if (wr_act) begin
        tbl_word_reg <= pw_tdata;
        tbl_busy_reg <= 1'b1;
    end
    if (pw_clear) begin
        tbl_addr_reg <= '0;
    end
    if (rst) begin
        tbl_busy_reg <= 1'b0;
        tbl_addr_reg <= '0;
    end
end

// LayerNorm G / B
localparam int LN_ADDR_WIDTH = D / LN_PARALLEL > 1 ? $clog2(D / LN_PARALLEL) : 1;
logic                              ln1_param_en, ln2_param_en;
logic [LN_ADDR_WIDTH-1:0]          ln1_param_addr, ln2_param_addr;
logic [LN_PARALLEL-1:0][15:0]      ln1_gamma, ln2_gamma;
logic [LN_PARALLEL-1:0][31:0]      ln1_beta, ln2_beta;

lane_mem #(.N(D), .LANE_WIDTH(16), .RD_LANES(LN_PARALLEL), .SETS(PARAM_SETS)) ln1_g_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_ln1g), .wr_data(pw_tdata),
    .rd_en(ln1_param_en), .rd_addr(ln1_param_addr), .rd_data(ln1_gamma)
);
lane_mem #(.N(D), .LANE_WIDTH(32), .RD_LANES(LN_PARALLEL), .SETS(PARAM_SETS)) ln1_b_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_ln1b), .wr_data(pw_tdata),
    .rd_en(ln1_param_en), .rd_addr(ln1_param_addr), .rd_data(ln1_beta)
);
lane_mem #(.N(D), .LANE_WIDTH(16), .RD_LANES(LN_PARALLEL), .SETS(PARAM_SETS)) ln2_g_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_ln2g), .wr_data(pw_tdata),
    .rd_en(ln2_param_en), .rd_addr(ln2_param_addr), .rd_data(ln2_gamma)
);
lane_mem #(.N(D), .LANE_WIDTH(32), .RD_LANES(LN_PARALLEL), .SETS(PARAM_SETS)) ln2_b_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_ln2b), .wr_data(pw_tdata),
    .rd_en(ln2_param_en), .rd_addr(ln2_param_addr), .rd_data(ln2_beta)
);

// Linear layers: weights (linear_wmem) and biases (lane_mem, read every cycle).
localparam int QKV_WA = (3 * D / QKV_PE) * (D / QKV_SIMD) > 1 ? $clog2((3 * D / QKV_PE) * (D / QKV_SIMD)) : 1;
localparam int QKV_BA = 3 * D / QKV_PE > 1 ? $clog2(3 * D / QKV_PE) : 1;
localparam int PROJ_WA = (D / PROJ_PE) * (D / PROJ_SIMD) > 1 ? $clog2((D / PROJ_PE) * (D / PROJ_SIMD)) : 1;
localparam int PROJ_BA = D / PROJ_PE > 1 ? $clog2(D / PROJ_PE) : 1;
localparam int FC1_WA = (M / FC1_PE) * (D / FC1_SIMD) > 1 ? $clog2((M / FC1_PE) * (D / FC1_SIMD)) : 1;
localparam int FC1_BA = M / FC1_PE > 1 ? $clog2(M / FC1_PE) : 1;
localparam int FC2_WA = (D / FC2_PE) * (M / FC2_SIMD) > 1 ? $clog2((D / FC2_PE) * (M / FC2_SIMD)) : 1;
localparam int FC2_BA = D / FC2_PE > 1 ? $clog2(D / FC2_PE) : 1;

logic [QKV_WA-1:0]                  qkv_w_addr;
logic [QKV_PE-1:0][QKV_SIMD-1:0][7:0] qkv_w_data;
logic [QKV_BA-1:0]                  qkv_b_addr;
logic [QKV_PE-1:0][31:0]            qkv_b_data;
logic [PROJ_WA-1:0]                 proj_w_addr;
logic [PROJ_PE-1:0][PROJ_SIMD-1:0][7:0] proj_w_data;
logic [PROJ_BA-1:0]                 proj_b_addr;
logic [PROJ_PE-1:0][31:0]           proj_b_data;
logic [FC1_WA-1:0]                  fc1_w_addr;
logic [FC1_PE-1:0][FC1_SIMD-1:0][7:0] fc1_w_data;
logic [FC1_BA-1:0]                  fc1_b_addr;
logic [FC1_PE-1:0][31:0]            fc1_b_data;
logic [FC2_WA-1:0]                  fc2_w_addr;
logic [FC2_PE-1:0][FC2_SIMD-1:0][7:0] fc2_w_data;
logic [FC2_BA-1:0]                  fc2_b_addr;
logic [FC2_PE-1:0][31:0]            fc2_b_data;

linear_wmem #(.IN_DIM(D), .OUT_DIM(3 * D), .SIMD(QKV_SIMD), .PE(QKV_PE), .SETS(PARAM_SETS)) qkv_w_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_qkvw), .wr_data(pw_tdata),
    .rd_addr(qkv_w_addr), .rd_data(qkv_w_data)
);
lane_mem #(.N(3 * D), .LANE_WIDTH(32), .RD_LANES(QKV_PE), .SETS(PARAM_SETS)) qkv_b_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_qkvb), .wr_data(pw_tdata),
    .rd_en(1'b1), .rd_addr(qkv_b_addr), .rd_data(qkv_b_data)
);
linear_wmem #(.IN_DIM(D), .OUT_DIM(D), .SIMD(PROJ_SIMD), .PE(PROJ_PE), .SETS(PARAM_SETS)) proj_w_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_projw), .wr_data(pw_tdata),
    .rd_addr(proj_w_addr), .rd_data(proj_w_data)
);
lane_mem #(.N(D), .LANE_WIDTH(32), .RD_LANES(PROJ_PE), .SETS(PARAM_SETS)) proj_b_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_projb), .wr_data(pw_tdata),
    .rd_en(1'b1), .rd_addr(proj_b_addr), .rd_data(proj_b_data)
);
linear_wmem #(.IN_DIM(D), .OUT_DIM(M), .SIMD(FC1_SIMD), .PE(FC1_PE), .SETS(PARAM_SETS)) fc1_w_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_fc1w), .wr_data(pw_tdata),
    .rd_addr(fc1_w_addr), .rd_data(fc1_w_data)
);
lane_mem #(.N(M), .LANE_WIDTH(32), .RD_LANES(FC1_PE), .SETS(PARAM_SETS)) fc1_b_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_fc1b), .wr_data(pw_tdata),
    .rd_en(1'b1), .rd_addr(fc1_b_addr), .rd_data(fc1_b_data)
);
linear_wmem #(.IN_DIM(M), .OUT_DIM(D), .SIMD(FC2_SIMD), .PE(FC2_PE), .SETS(PARAM_SETS)) fc2_w_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_fc2w), .wr_data(pw_tdata),
    .rd_addr(fc2_w_addr), .rd_data(fc2_w_data)
);
lane_mem #(.N(D), .LANE_WIDTH(32), .RD_LANES(FC2_PE), .SETS(PARAM_SETS)) fc2_b_mem (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg), .wr_clear(pw_clear),
    .wr_en(wr_fc2b), .wr_data(pw_tdata),
    .rd_en(1'b1), .rd_addr(fc2_b_addr), .rd_data(fc2_b_data)
);

// =====================================================================================================================
// Input: n tokens -> LN1 and the x buffer
// =====================================================================================================================
logic [127:0]               xb_m_tdata;
logic                       xb_m_tvalid, xb_m_tready, xb_m_tlast;
logic                       xb_s_tready;
logic [LN_PARALLEL*8-1:0]   ln1_in_tdata;
logic                       ln1_in_tvalid, ln1_in_tready, ln1_in_tlast;
logic                       in_lanes_tready;

wire in_open = running_reg && in_count_reg != total_reg && ln1_ok;
wire in_last = in_count_reg == total_reg - 1'b1;
assign s_axis_tready = in_open && in_lanes_tready && xb_s_tready;
wire in_fire = s_axis_tvalid && s_axis_tready;
// Once the image is in, LN1 takes it again from the x buffer: the second pass computes the queries (see qkv below).
wire replay_sel = running_reg && in_count_reg == total_reg;
logic [127:0]               xb_r_tdata;
logic                       xb_r_tvalid, xb_r_tlast;

always_ff @(posedge clk) begin
    if (in_fire) begin
        in_count_reg <= in_count_reg + 1'b1;
        if (s_axis_tlast != in_last) begin
            framing_error_reg <= 1'b1;
        end
    end
    if (run_start || rst) begin
        in_count_reg <= '0;
    end
end

token_buffer #(.WIDTH(128), .DEPTH(N_MAX * BEATS), .REPLAY(1'b1)) x_buf (
    .clk(clk), .rst(rst), .clear(run_start),
    .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid && in_open && in_lanes_tready),
    .s_axis_tready(xb_s_tready), .s_axis_tlast(in_last),
    .m_axis_tdata(xb_m_tdata), .m_axis_tvalid(xb_m_tvalid), .m_axis_tready(xb_m_tready), .m_axis_tlast(xb_m_tlast),
    .m_axis_replay_tdata(xb_r_tdata), .m_axis_replay_tvalid(xb_r_tvalid),
    .m_axis_replay_tready(replay_sel && in_lanes_tready), .m_axis_replay_tlast(xb_r_tlast)
);

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(16), .OUT_LANES(LN_PARALLEL)) ln1_in_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(replay_sel ? xb_r_tdata : s_axis_tdata),
    .s_axis_tvalid(replay_sel ? xb_r_tvalid : s_axis_tvalid && in_open && xb_s_tready),
    .s_axis_tready(in_lanes_tready), .s_axis_tlast(replay_sel ? xb_r_tlast : in_last),
    .m_axis_tdata(ln1_in_tdata), .m_axis_tvalid(ln1_in_tvalid), .m_axis_tready(ln1_in_tready),
    .m_axis_tlast(ln1_in_tlast)
);

// =====================================================================================================================
// LN1 -> qkv -> q, k, v
// =====================================================================================================================
logic [LN_PARALLEL*8-1:0]   ln1_out_tdata;
logic                       ln1_out_tvalid, ln1_out_tready, ln1_out_tlast;

layernorm #(.D(D), .PARALLEL(LN_PARALLEL), .EPS_WIDTH(41), .SHIFT_WIDTH(7), .BUFFERS(2)) ln1 (
    .clk(clk), .rst(rst), .eps_term(r_ln1_eps), .shift(r_ln1_shift),
    .param_en(ln1_param_en), .param_addr(ln1_param_addr), .param_gamma(ln1_gamma), .param_beta(ln1_beta),
    .s_axis_tdata(ln1_in_tdata), .s_axis_tvalid(ln1_in_tvalid), .s_axis_tready(ln1_in_tready),
    .s_axis_tlast(ln1_in_tlast),
    .m_axis_tdata(ln1_out_tdata), .m_axis_tvalid(ln1_out_tvalid), .m_axis_tready(ln1_out_tready),
    .m_axis_tlast(ln1_out_tlast)
);

logic [QKV_SIMD*8-1:0]      qkv_in_tdata;
logic                       qkv_in_tvalid, qkv_in_tready, qkv_in_tlast;

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(LN_PARALLEL), .OUT_LANES(QKV_SIMD)) qkv_in_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(ln1_out_tdata), .s_axis_tvalid(ln1_out_tvalid), .s_axis_tready(ln1_out_tready),
    .s_axis_tlast(ln1_out_tlast),
    .m_axis_tdata(qkv_in_tdata), .m_axis_tvalid(qkv_in_tvalid), .m_axis_tready(qkv_in_tready),
    .m_axis_tlast(qkv_in_tlast)
);

logic [QKV_PE-1:0][31:0]    qkv_acc_tdata;
logic                       qkv_acc_tvalid, qkv_acc_tready, qkv_acc_tlast;
logic                       qkv_s_tready;
// The first pass over the image computes k and v (the qkv folds after q's), the second, from the replay, q: the
// attention rows need every key first, and now start as the queries come, so q's share of the qkv layer runs
// under the rows instead of before them. Each point of the path knows its pass by the first pass's tlast.
logic                       q_pass_in_reg, q_pass_out_reg, q_pass_tok_reg;

assign qkv_in_tready = qkv_s_tready && qkv_ok;

always_ff @(posedge clk) begin
    if (qkv_in_tvalid && qkv_in_tready && qkv_in_tlast) begin
        q_pass_in_reg <= 1'b1;
    end
    if (rst || run_start) begin
        q_pass_in_reg <= 1'b0;
    end
end

linear #(
    .IN_DIM(D), .OUT_DIM(3 * D), .SIMD(QKV_SIMD), .PE(QKV_PE), .ACC_OUT(1'b1), .SHIFT_WIDTH(7),
    .MEM_LATENCY(1), .OUT_FIFO_DEPTH(8), .MACS_PER_DSP(LINEAR_MACS_PER_DSP), .SPLIT_NF(D / QKV_PE)
) qkv (
    .clk(clk), .rst(rst), .shift(7'sd0),
    .s_axis_tdata(qkv_in_tdata), .s_axis_tvalid(qkv_in_tvalid && qkv_ok), .s_axis_tready(qkv_s_tready),
    .s_axis_tlast(qkv_in_tlast), .s_axis_tuser(!q_pass_in_reg),
    .m_axis_tdata(qkv_acc_tdata), .m_axis_tvalid(qkv_acc_tvalid), .m_axis_tready(qkv_acc_tready),
    .m_axis_tlast(qkv_acc_tlast),
    .w_rd_addr(qkv_w_addr), .w_rd_data(qkv_w_data), .b_rd_addr(qkv_b_addr), .b_rd_data(qkv_b_data)
);

// §5.1 the three slices of the accumulator requantize to f_q, f_k, f_v: the slice follows the output beat (k, v of
// each token in the first pass, q in the second).
localparam int SLICE_BEATS = D / QKV_PE;
localparam int SB_WIDTH = SLICE_BEATS > 1 ? $clog2(SLICE_BEATS) : 1;
logic [SB_WIDTH-1:0]        slice_beat_reg;
logic                       v_slice_reg;
logic signed [6:0]          slice_shift;
logic [QKV_PE*8-1:0]        qkv_q_tdata;
logic                       slice_tready;

assign slice_shift = q_pass_out_reg ? r_q_shift : (v_slice_reg ? r_v_shift : r_k_shift);

for (genvar p = 0; p < QKV_PE; p++) begin : g_qkv_requant
    round_sat #(.IN_WIDTH(32), .OUT_WIDTH(8), .SHIFT_WIDTH(7), .SIGNED_OUT(1'b1)) requant (
        .in(qkv_acc_tdata[p]), .shift(slice_shift), .out(qkv_q_tdata[8*p +: 8])
    );
end

always_ff @(posedge clk) begin
    if (qkv_acc_tvalid && qkv_acc_tready) begin
        slice_beat_reg <= slice_beat_reg + 1'b1;
        if (slice_beat_reg == SB_WIDTH'(SLICE_BEATS - 1)) begin
            slice_beat_reg <= '0;
            v_slice_reg <= !v_slice_reg && !q_pass_out_reg;
        end
        if (qkv_acc_tlast) begin
            q_pass_out_reg <= 1'b1;
            qkv_done_reg <= q_pass_out_reg;  // the queries' last output: the qkv weights are read
        end
    end
    if (rst || run_start) begin
        slice_beat_reg <= '0;
        v_slice_reg <= 1'b0;
        q_pass_out_reg <= 1'b0;
        qkv_done_reg <= 1'b0;
    end
end

// One slice of a token (D lanes: its k, v or q for every head) per beat.
logic [D*8-1:0]             slice_tdata;
logic                       slice_tvalid, slice_tlast;

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(QKV_PE), .OUT_LANES(D)) slice_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(qkv_q_tdata), .s_axis_tvalid(qkv_acc_tvalid), .s_axis_tready(qkv_acc_tready),
    .s_axis_tlast(qkv_acc_tlast),
    .m_axis_tdata(slice_tdata), .m_axis_tvalid(slice_tvalid), .m_axis_tready(slice_tready),
    .m_axis_tlast(slice_tlast)
);

// First pass: a token's k waits in k_hold_reg for its v, then {v, k} goes to every head; second pass: q.
logic [D*8-1:0]             k_hold_reg;
logic                       k_held_reg;
logic [H-1:0]               at_q_tready;
logic [H-1:0]               at_s_tready;
wire                        kv_go = slice_tvalid && !q_pass_tok_reg && k_held_reg && &at_s_tready;
wire                        q_go = slice_tvalid && q_pass_tok_reg && &at_q_tready;

assign slice_tready = q_pass_tok_reg ? &at_q_tready : (!k_held_reg || &at_s_tready);

always_ff @(posedge clk) begin
    if (slice_tvalid && slice_tready && !q_pass_tok_reg) begin
        k_held_reg <= !k_held_reg;
        if (!k_held_reg) begin
            k_hold_reg <= slice_tdata;
        end
        if (slice_tlast) begin
            q_pass_tok_reg <= 1'b1;
        end
    end
    if (rst || run_start) begin
        k_held_reg <= 1'b0;
        q_pass_tok_reg <= 1'b0;
    end
end

// =====================================================================================================================
// Attention: one attention.sv per head, fed together (all heads take token t in the same cycle)
// =====================================================================================================================
logic [H-1:0][DH*8-1:0]     at_m_tdata;
logic [H-1:0]               at_m_tvalid, at_m_tready, at_m_tlast;
logic [H-1:0][15:0]         at_cls_tdata;
logic [H-1:0]               at_cls_tvalid, at_cls_tready, at_cls_tlast;

for (genvar h = 0; h < H; h++) begin : g_head
    attention #(.N_MAX(N_MAX), .DH(DH), .QK_SIMD(QK_SIMD)) head (
        .clk(clk), .rst(rst), .frac_qk(r_f_qk), .ctx_shift(r_ctx_shift),
        .s_axis_tdata({slice_tdata[h * DH * 8 +: DH * 8], k_hold_reg[h * DH * 8 +: DH * 8]}),
        .s_axis_tvalid(kv_go), .s_axis_tready(at_s_tready[h]), .s_axis_tlast(slice_tlast),
        .s_axis_q_tdata(slice_tdata[h * DH * 8 +: DH * 8]), .s_axis_q_tvalid(q_go), .s_axis_q_tready(at_q_tready[h]),
        .s_axis_q_tlast(slice_tlast),
        .m_axis_tdata(at_m_tdata[h]), .m_axis_tvalid(at_m_tvalid[h]), .m_axis_tready(at_m_tready[h]),
        .m_axis_tlast(at_m_tlast[h]),
        .m_axis_cls_tdata(at_cls_tdata[h]), .m_axis_cls_tvalid(at_cls_tvalid[h]),
        .m_axis_cls_tready(at_cls_tready[h]), .m_axis_cls_tlast(at_cls_tlast[h])
    );
end

// Class rows: head by head onto m_axis_cls_p16 (a head waits, stalled, until the heads before it are out), or
// dropped when the side streams are off.
logic [H_WIDTH-1:0]         p16_head_reg;
wire                        p16_sel_tvalid = at_cls_tvalid[p16_head_reg];
wire                        p16_sel_tlast = at_cls_tlast[p16_head_reg];

assign m_axis_cls_p16_tdata = at_cls_tdata[p16_head_reg];
assign m_axis_cls_p16_tvalid = cls_out_reg && p16_sel_tvalid;
assign m_axis_cls_p16_tlast = p16_sel_tlast;

always_comb begin
    for (int h = 0; h < H; h++) begin
        at_cls_tready[h] = !cls_out_reg || (H_WIDTH'(h) == p16_head_reg && m_axis_cls_p16_tready);
    end
end

always_ff @(posedge clk) begin
    for (int h = 0; h < H; h++) begin
        if (at_cls_tvalid[h] && at_cls_tready[h] && at_cls_tlast[h]) begin
            p16_rows_reg[h] <= 1'b1;
        end
    end
    if (cls_out_reg && p16_sel_tvalid && m_axis_cls_p16_tready && p16_sel_tlast) begin
        p16_head_reg <= p16_head_reg == H_WIDTH'(H - 1) ? '0 : p16_head_reg + 1'b1;
    end
    if (rst || run_start) begin
        p16_rows_reg <= '0;
        p16_head_reg <= '0;
    end
end

// Context rows of all heads -> one token of D channels (head h at channels h DH ..).
logic [D*8-1:0]             ctx_tdata;
logic                       ctx_tvalid, ctx_tready, ctx_tlast;
logic [D*8-1:0]             cls_ctx_reg;

assign ctx_tdata = at_m_tdata;
assign ctx_tvalid = &at_m_tvalid;
assign ctx_tlast = at_m_tlast[0];
assign at_m_tready = {H{ctx_tvalid && ctx_tready}};

assign m_axis_cls_ctx_tdata = cls_ctx_reg[ctx_sent_reg[H_WIDTH-1:0] * DH * 8 +: DH * 8];
assign m_axis_cls_ctx_tvalid = cls_out_reg && ctx_captured_reg && ctx_sent_reg != (H_WIDTH+1)'(H);
assign m_axis_cls_ctx_tlast = ctx_sent_reg == (H_WIDTH+1)'(H - 1);

always_ff @(posedge clk) begin
    if (ctx_tvalid && ctx_tready && !ctx_captured_reg) begin
        cls_ctx_reg <= ctx_tdata;  // token 0: the class token's context, §5.4
        ctx_captured_reg <= 1'b1;
    end
    if (m_axis_cls_ctx_tvalid && m_axis_cls_ctx_tready) begin
        ctx_sent_reg <= ctx_sent_reg + 1'b1;
    end
    if (rst || run_start) begin
        ctx_captured_reg <= 1'b0;
        ctx_sent_reg <= '0;
    end
end

// =====================================================================================================================
// proj -> residual with x -> x1
// =====================================================================================================================
logic [PROJ_SIMD*8-1:0]     proj_in_tdata;
logic                       proj_in_tvalid, proj_in_tready, proj_in_tlast;
logic                       proj_s_tready;

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(D), .OUT_LANES(PROJ_SIMD)) proj_in_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(ctx_tdata), .s_axis_tvalid(ctx_tvalid), .s_axis_tready(ctx_tready), .s_axis_tlast(ctx_tlast),
    .m_axis_tdata(proj_in_tdata), .m_axis_tvalid(proj_in_tvalid), .m_axis_tready(proj_in_tready),
    .m_axis_tlast(proj_in_tlast)
);

assign proj_in_tready = proj_s_tready && proj_ok;

logic [PROJ_PE*8-1:0]       proj_out_tdata;
logic                       proj_out_tvalid, proj_out_tready, proj_out_tlast;

linear #(
    .IN_DIM(D), .OUT_DIM(D), .SIMD(PROJ_SIMD), .PE(PROJ_PE), .ACC_OUT(1'b0), .SHIFT_WIDTH(7),
    .MEM_LATENCY(1), .OUT_FIFO_DEPTH(8), .MACS_PER_DSP(LINEAR_MACS_PER_DSP)
) proj (
    .clk(clk), .rst(rst), .shift(r_proj_shift),
    .s_axis_tdata(proj_in_tdata), .s_axis_tvalid(proj_in_tvalid && proj_ok), .s_axis_tready(proj_s_tready),
    .s_axis_tlast(proj_in_tlast), .s_axis_tuser(1'b0),
    .m_axis_tdata(proj_out_tdata), .m_axis_tvalid(proj_out_tvalid), .m_axis_tready(proj_out_tready),
    .m_axis_tlast(proj_out_tlast),
    .w_rd_addr(proj_w_addr), .w_rd_data(proj_w_data), .b_rd_addr(proj_b_addr), .b_rd_data(proj_b_data)
);

logic [127:0]               res1_r_tdata;
logic                       res1_r_tvalid, res1_r_tready, res1_r_tlast;

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(PROJ_PE), .OUT_LANES(16)) res1_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(proj_out_tdata), .s_axis_tvalid(proj_out_tvalid), .s_axis_tready(proj_out_tready),
    .s_axis_tlast(proj_out_tlast),
    .m_axis_tdata(res1_r_tdata), .m_axis_tvalid(res1_r_tvalid), .m_axis_tready(res1_r_tready),
    .m_axis_tlast(res1_r_tlast)
);

logic [127:0]               x1_tdata;
logic                       x1_tvalid, x1_tready, x1_tlast;

residual_add #(.PARALLEL(16), .FRAC_WIDTH(6), .FRAC_MIN(-8), .FRAC_MAX(16)) res1 (
    .clk(clk), .rst(rst), .fx(r_res1_fx), .fr(r_res1_fr), .f_out(r_res1_fout),
    .s_axis_x_tdata(xb_m_tdata), .s_axis_x_tvalid(xb_m_tvalid), .s_axis_x_tready(xb_m_tready),
    .s_axis_x_tlast(xb_m_tlast),
    .s_axis_r_tdata(res1_r_tdata), .s_axis_r_tvalid(res1_r_tvalid), .s_axis_r_tready(res1_r_tready),
    .s_axis_r_tlast(res1_r_tlast),
    .m_axis_tdata(x1_tdata), .m_axis_tvalid(x1_tvalid), .m_axis_tready(x1_tready), .m_axis_tlast(x1_tlast)
);

// =====================================================================================================================
// x1 -> LN2 and the x1 buffer; LN2 -> fc1 -> GELU -> fc2 -> residual with x1 -> out
// =====================================================================================================================
logic                       x1b_s_tready, ln2_lanes_tready;
logic [127:0]               x1b_m_tdata;
logic                       x1b_m_tvalid, x1b_m_tready, x1b_m_tlast;
logic [LN_PARALLEL*8-1:0]   ln2_in_tdata;
logic                       ln2_in_tvalid, ln2_in_tready, ln2_in_tlast;

assign x1_tready = x1b_s_tready && ln2_lanes_tready && ln2_ok;

logic [128-1:0] x1b_r_tdata;  // no replay
logic x1b_r_tvalid, x1b_r_tlast;
wire unused_x1b_replay = &{1'b0, x1b_r_tdata, x1b_r_tvalid, x1b_r_tlast};

token_buffer #(.WIDTH(128), .DEPTH(N_MAX * BEATS)) x1_buf (
    .clk(clk), .rst(rst), .clear(run_start),
    .s_axis_tdata(x1_tdata), .s_axis_tvalid(x1_tvalid && ln2_lanes_tready && ln2_ok),
    .s_axis_tready(x1b_s_tready), .s_axis_tlast(x1_tlast),
    .m_axis_tdata(x1b_m_tdata), .m_axis_tvalid(x1b_m_tvalid), .m_axis_tready(x1b_m_tready),
    .m_axis_tlast(x1b_m_tlast),
    .m_axis_replay_tdata(x1b_r_tdata), .m_axis_replay_tvalid(x1b_r_tvalid), .m_axis_replay_tready(1'b0), .m_axis_replay_tlast(x1b_r_tlast)
);

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(16), .OUT_LANES(LN_PARALLEL)) ln2_in_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(x1_tdata), .s_axis_tvalid(x1_tvalid && x1b_s_tready && ln2_ok),
    .s_axis_tready(ln2_lanes_tready), .s_axis_tlast(x1_tlast),
    .m_axis_tdata(ln2_in_tdata), .m_axis_tvalid(ln2_in_tvalid), .m_axis_tready(ln2_in_tready),
    .m_axis_tlast(ln2_in_tlast)
);

logic [LN_PARALLEL*8-1:0]   ln2_out_tdata;
logic                       ln2_out_tvalid, ln2_out_tready, ln2_out_tlast;

layernorm #(.D(D), .PARALLEL(LN_PARALLEL), .EPS_WIDTH(41), .SHIFT_WIDTH(7), .BUFFERS(2)) ln2 (
    .clk(clk), .rst(rst), .eps_term(r_ln2_eps), .shift(r_ln2_shift),
    .param_en(ln2_param_en), .param_addr(ln2_param_addr), .param_gamma(ln2_gamma), .param_beta(ln2_beta),
    .s_axis_tdata(ln2_in_tdata), .s_axis_tvalid(ln2_in_tvalid), .s_axis_tready(ln2_in_tready),
    .s_axis_tlast(ln2_in_tlast),
    .m_axis_tdata(ln2_out_tdata), .m_axis_tvalid(ln2_out_tvalid), .m_axis_tready(ln2_out_tready),
    .m_axis_tlast(ln2_out_tlast)
);

logic [FC1_SIMD*8-1:0]      fc1_in_tdata;
logic                       fc1_in_tvalid, fc1_in_tready, fc1_in_tlast;
logic                       fc1_s_tready;

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(LN_PARALLEL), .OUT_LANES(FC1_SIMD)) fc1_in_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(ln2_out_tdata), .s_axis_tvalid(ln2_out_tvalid), .s_axis_tready(ln2_out_tready),
    .s_axis_tlast(ln2_out_tlast),
    .m_axis_tdata(fc1_in_tdata), .m_axis_tvalid(fc1_in_tvalid), .m_axis_tready(fc1_in_tready),
    .m_axis_tlast(fc1_in_tlast)
);

assign fc1_in_tready = fc1_s_tready && fc1_ok;

logic [FC1_PE*8-1:0]        fc1_out_tdata;
logic                       fc1_out_tvalid, fc1_out_tready, fc1_out_tlast;

linear #(
    .IN_DIM(D), .OUT_DIM(M), .SIMD(FC1_SIMD), .PE(FC1_PE), .ACC_OUT(1'b0), .SHIFT_WIDTH(7),
    .MEM_LATENCY(1), .OUT_FIFO_DEPTH(8), .MACS_PER_DSP(LINEAR_MACS_PER_DSP)
) fc1 (
    .clk(clk), .rst(rst), .shift(r_fc1_shift),
    .s_axis_tdata(fc1_in_tdata), .s_axis_tvalid(fc1_in_tvalid && fc1_ok), .s_axis_tready(fc1_s_tready),
    .s_axis_tlast(fc1_in_tlast), .s_axis_tuser(1'b0),
    .m_axis_tdata(fc1_out_tdata), .m_axis_tvalid(fc1_out_tvalid), .m_axis_tready(fc1_out_tready),
    .m_axis_tlast(fc1_out_tlast),
    .w_rd_addr(fc1_w_addr), .w_rd_data(fc1_w_data), .b_rd_addr(fc1_b_addr), .b_rd_data(fc1_b_data)
);

logic [FC1_PE*8-1:0]        act_tdata;
logic                       act_tvalid, act_tready, act_tlast;

logic                       gelu_s_tready;

assign fc1_out_tready = gelu_s_tready && act_ok;

lut #(.PARALLEL(FC1_PE), .SETS(PARAM_SETS)) gelu (
    .clk(clk), .rst(rst), .wr_set(fetch_set_reg), .rd_set(set_reg),
    .tbl_wr_en(tbl_wr_en), .tbl_wr_addr(tbl_wr_addr), .tbl_wr_data(tbl_wr_data),
    .s_axis_tdata(fc1_out_tdata), .s_axis_tvalid(fc1_out_tvalid && act_ok), .s_axis_tready(gelu_s_tready),
    .s_axis_tlast(fc1_out_tlast),
    .m_axis_tdata(act_tdata), .m_axis_tvalid(act_tvalid), .m_axis_tready(act_tready), .m_axis_tlast(act_tlast)
);

logic [FC2_SIMD*8-1:0]      fc2_in_tdata;
logic                       fc2_in_tvalid, fc2_in_tready, fc2_in_tlast;
logic                       fc2_s_tready;

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(FC1_PE), .OUT_LANES(FC2_SIMD)) fc2_in_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(act_tdata), .s_axis_tvalid(act_tvalid), .s_axis_tready(act_tready), .s_axis_tlast(act_tlast),
    .m_axis_tdata(fc2_in_tdata), .m_axis_tvalid(fc2_in_tvalid), .m_axis_tready(fc2_in_tready),
    .m_axis_tlast(fc2_in_tlast)
);

assign fc2_in_tready = fc2_s_tready && fc2_ok;

logic [FC2_PE*8-1:0]        fc2_out_tdata;
logic                       fc2_out_tvalid, fc2_out_tready, fc2_out_tlast;

linear #(
    .IN_DIM(M), .OUT_DIM(D), .SIMD(FC2_SIMD), .PE(FC2_PE), .ACC_OUT(1'b0), .SHIFT_WIDTH(7),
    .MEM_LATENCY(1), .OUT_FIFO_DEPTH(8), .MACS_PER_DSP(LINEAR_MACS_PER_DSP)
) fc2 (
    .clk(clk), .rst(rst), .shift(r_fc2_shift),
    .s_axis_tdata(fc2_in_tdata), .s_axis_tvalid(fc2_in_tvalid && fc2_ok), .s_axis_tready(fc2_s_tready),
    .s_axis_tlast(fc2_in_tlast), .s_axis_tuser(1'b0),
    .m_axis_tdata(fc2_out_tdata), .m_axis_tvalid(fc2_out_tvalid), .m_axis_tready(fc2_out_tready),
    .m_axis_tlast(fc2_out_tlast),
    .w_rd_addr(fc2_w_addr), .w_rd_data(fc2_w_data), .b_rd_addr(fc2_b_addr), .b_rd_data(fc2_b_data)
);

logic [127:0]               res2_r_tdata;
logic                       res2_r_tvalid, res2_r_tready, res2_r_tlast;

axis_lanes #(.LANE_WIDTH(8), .IN_LANES(FC2_PE), .OUT_LANES(16)) res2_lanes (
    .clk(clk), .rst(rst),
    .s_axis_tdata(fc2_out_tdata), .s_axis_tvalid(fc2_out_tvalid), .s_axis_tready(fc2_out_tready),
    .s_axis_tlast(fc2_out_tlast),
    .m_axis_tdata(res2_r_tdata), .m_axis_tvalid(res2_r_tvalid), .m_axis_tready(res2_r_tready),
    .m_axis_tlast(res2_r_tlast)
);

logic                       y_tvalid, y_tready, y_tlast;

residual_add #(.PARALLEL(16), .FRAC_WIDTH(6), .FRAC_MIN(-8), .FRAC_MAX(16)) res2 (
    .clk(clk), .rst(rst), .fx(r_res2_fx), .fr(r_res2_fr), .f_out(r_res2_fout),
    .s_axis_x_tdata(x1b_m_tdata), .s_axis_x_tvalid(x1b_m_tvalid), .s_axis_x_tready(x1b_m_tready),
    .s_axis_x_tlast(x1b_m_tlast),
    .s_axis_r_tdata(res2_r_tdata), .s_axis_r_tvalid(res2_r_tvalid), .s_axis_r_tready(res2_r_tready),
    .s_axis_r_tlast(res2_r_tlast),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(y_tvalid), .m_axis_tready(y_tready), .m_axis_tlast(y_tlast)
);

// Output: the beat counter frames the image (tlast on beat n * BEATS - 1). With flags.link the beat goes to both
// streams; each one's valid stays up until it has taken the beat (AXI-Stream: valid never waits for ready), and the
// beat is done when both have.
logic main_taken_reg, link_taken_reg;  // the stream has taken the current beat
wire  out_open = y_tvalid && running_reg && !all_out;
wire  main_ok = main_taken_reg || m_axis_tready;
wire  link_ok = !link_reg || link_taken_reg || m_axis_link_tready;
wire  out_done = out_open && main_ok && link_ok;

assign m_axis_tvalid = out_open && !main_taken_reg;
assign m_axis_link_tvalid = out_open && link_reg && !link_taken_reg;
assign m_axis_tlast = out_count_reg == total_reg - 1'b1;
assign m_axis_link_tlast = m_axis_tlast;
assign m_axis_link_tdata = m_axis_tdata;
assign y_tready = running_reg && !all_out && main_ok && link_ok;

always_ff @(posedge clk) begin
    if (out_done) begin
        out_count_reg <= out_count_reg + 1'b1;
        main_taken_reg <= 1'b0;
        link_taken_reg <= 1'b0;
    end else begin
        main_taken_reg <= main_taken_reg || (m_axis_tvalid && m_axis_tready);
        link_taken_reg <= link_taken_reg || (m_axis_link_tvalid && m_axis_link_tready);
    end
    if (rst || run_start) begin
        out_count_reg <= '0;
        main_taken_reg <= 1'b0;
        link_taken_reg <= 1'b0;
    end
end

wire unused = &{1'b0, r_n[31:16], r_weights[63:ADDR_WIDTH], r_next[63:ADDR_WIDTH], r_flags[31:4], cfg_reg[5][31:9],
                cfg_reg[17][31:9], y_tlast, at_m_tlast, wr_offset, rd_offset};

`ifndef SYNTHESIS
always_ff @(posedge clk) begin
    if (!rst && out_done) begin
        assert (y_tlast == m_axis_tlast)
        else $error("encoder_block: internal tlast out of step at beat %0d", out_count_reg);
    end
end
`endif

endmodule : encoder_block

`resetall
