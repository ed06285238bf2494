// Vitis HLS IP top `encoder_block`: spvit::encoder_block (hw/hls/encoder_block.hpp, docs/arithmetic.md §11.2 with the
// stage scores of §8) for the digits model, one block per call. Tokens over AXI-Stream (hls::axis beats under Vitis,
// copied to and from the kernel's axis_word streams), parameters and scores over m_axi, one s_axilite register per
// encoder_block_regs field. Golden: spvit.sim.golden.model.encoder_block (+ scoring.asvit_score / selector).
// Testbench: hw/hls/vitis/tb/encoder_block_tb.cpp.
#include "spvit_ip.hpp"

bool encoder_block_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                       const spvit_ip::mem_word *mem, spvit_ip::mem_word *scores, spvit_ip::T::count_t n,
                       ap_uint<32> weights, spvit_ip::T::eps_t ln1_eps, spvit_ip::T::shift_t ln1_shift,
                       spvit_ip::T::shift_t q_shift, spvit_ip::T::shift_t k_shift, spvit_ip::T::shift_t v_shift,
                       spvit::attention_config::frac_t f_qk, spvit_ip::T::shift_t ctx_shift,
                       spvit_ip::T::shift_t proj_shift, spvit_ip::T::align_t res1_x, spvit_ip::T::align_t res1_r,
                       spvit_ip::T::res_shift_t res1_out, spvit_ip::T::eps_t ln2_eps, spvit_ip::T::shift_t ln2_shift,
                       spvit_ip::T::shift_t fc1_shift, spvit_ip::T::shift_t fc2_shift, spvit_ip::T::align_t res2_x,
                       spvit_ip::T::align_t res2_r, spvit_ip::T::res_shift_t res2_out, ap_uint<2> score_mode,
                       spvit_ip::T::eps_t sel_eps, spvit_ip::T::shift_t sel_norm_shift,
                       spvit_ip::T::shift_t sel_in_shift, spvit_ip::T::shift_t sel_mlp1_shift,
                       spvit_ip::T::shift_t sel_mlp2_shift, spvit_ip::T::shift_t sel_keep_shift,
                       spvit_ip::T::shift_t sel_se1_shift, spvit_ip::T::shift_t sel_se2_shift) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = mem offset = slave bundle = gmem0 depth = SPVIT_IP_BLOCK_WORDS \
    max_read_burst_length = 256
#pragma HLS INTERFACE m_axi port = scores offset = slave bundle = gmem1 depth = SPVIT_IP_SCORE_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = weights bundle = control
#pragma HLS INTERFACE s_axilite port = ln1_eps bundle = control
#pragma HLS INTERFACE s_axilite port = ln1_shift bundle = control
#pragma HLS INTERFACE s_axilite port = q_shift bundle = control
#pragma HLS INTERFACE s_axilite port = k_shift bundle = control
#pragma HLS INTERFACE s_axilite port = v_shift bundle = control
#pragma HLS INTERFACE s_axilite port = f_qk bundle = control
#pragma HLS INTERFACE s_axilite port = ctx_shift bundle = control
#pragma HLS INTERFACE s_axilite port = proj_shift bundle = control
#pragma HLS INTERFACE s_axilite port = res1_x bundle = control
#pragma HLS INTERFACE s_axilite port = res1_r bundle = control
#pragma HLS INTERFACE s_axilite port = res1_out bundle = control
#pragma HLS INTERFACE s_axilite port = ln2_eps bundle = control
#pragma HLS INTERFACE s_axilite port = ln2_shift bundle = control
#pragma HLS INTERFACE s_axilite port = fc1_shift bundle = control
#pragma HLS INTERFACE s_axilite port = fc2_shift bundle = control
#pragma HLS INTERFACE s_axilite port = res2_x bundle = control
#pragma HLS INTERFACE s_axilite port = res2_r bundle = control
#pragma HLS INTERFACE s_axilite port = res2_out bundle = control
#pragma HLS INTERFACE s_axilite port = score_mode bundle = control
#pragma HLS INTERFACE s_axilite port = sel_eps bundle = control
#pragma HLS INTERFACE s_axilite port = sel_norm_shift bundle = control
#pragma HLS INTERFACE s_axilite port = sel_in_shift bundle = control
#pragma HLS INTERFACE s_axilite port = sel_mlp1_shift bundle = control
#pragma HLS INTERFACE s_axilite port = sel_mlp2_shift bundle = control
#pragma HLS INTERFACE s_axilite port = sel_keep_shift bundle = control
#pragma HLS INTERFACE s_axilite port = sel_se1_shift bundle = control
#pragma HLS INTERFACE s_axilite port = sel_se2_shift bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    spvit::encoder_block_regs<spvit_ip::block_config> regs;
    regs.n = n;
    regs.weights = weights;
    regs.ln1_eps = ln1_eps;
    regs.ln1_shift = ln1_shift;
    regs.q_shift = q_shift;
    regs.k_shift = k_shift;
    regs.v_shift = v_shift;
    regs.f_qk = f_qk;
    regs.ctx_shift = ctx_shift;
    regs.proj_shift = proj_shift;
    regs.res1_x = res1_x;
    regs.res1_r = res1_r;
    regs.res1_out = res1_out;
    regs.ln2_eps = ln2_eps;
    regs.ln2_shift = ln2_shift;
    regs.fc1_shift = fc1_shift;
    regs.fc2_shift = fc2_shift;
    regs.res2_x = res2_x;
    regs.res2_r = res2_r;
    regs.res2_out = res2_out;
    regs.score_mode = score_mode;
    regs.sel_eps = sel_eps;
    regs.sel_norm_shift = sel_norm_shift;
    regs.sel_in_shift = sel_in_shift;
    regs.sel_mlp1_shift = sel_mlp1_shift;
    regs.sel_mlp2_shift = sel_mlp2_shift;
    regs.sel_keep_shift = sel_keep_shift;
    regs.sel_se1_shift = sel_se1_shift;
    regs.sel_se2_shift = sel_se2_shift;

    static const unsigned BEATS = spvit_ip::T::BEATS;
    hls::stream<spvit::axis_word> in("tokens_in"), out("tokens_out");
#pragma HLS STREAM variable = in depth = 268
#pragma HLS STREAM variable = out depth = 268
    spvit_ip::beats_to_words(s_axis, in, unsigned(n) * BEATS);
    const bool framed = spvit::encoder_block<spvit_ip::block_config>(in, out, mem, scores, regs);
    spvit_ip::words_to_beats(out, m_axis, spvit_ip::N_MAX * BEATS);
    return framed;
}
