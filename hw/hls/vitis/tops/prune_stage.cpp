// Vitis HLS IP top `prune_stage`: spvit::prune_stage (hw/hls/encoder_block.hpp, docs/arithmetic.md §11.3: §9 top-k,
// then §10 packaging) for the digits model. Tokens over AXI-Stream (hls::axis beats under Vitis, copied to and from
// the kernel's axis_word streams), scores in and source indices out over m_axi, the stage registers over s_axilite.
// Golden: spvit.sim.golden.model.prune_stage. Testbench: hw/hls/vitis/tb/prune_stage_tb.cpp.
#include "spvit_ip.hpp"

spvit_ip::T::count_t prune_stage_top(hls::stream<spvit_ip::beat_t> &s_axis, const spvit_ip::mem_word *scores,
                                     hls::stream<spvit_ip::beat_t> &m_axis, spvit_ip::mem_word *sources,
                                     spvit_ip::T::count_t n, spvit_ip::T::count_t n_protected_tail,
                                     spvit_ip::T::count_t k, bool threshold_mode, ap_uint<16> threshold,
                                     bool package) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = scores offset = slave bundle = gmem1 depth = SPVIT_IP_SCORE_WORDS
#pragma HLS INTERFACE m_axi port = sources offset = slave bundle = gmem1 depth = SPVIT_IP_SOURCE_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = n_protected_tail bundle = control
#pragma HLS INTERFACE s_axilite port = k bundle = control
#pragma HLS INTERFACE s_axilite port = threshold_mode bundle = control
#pragma HLS INTERFACE s_axilite port = threshold bundle = control
#pragma HLS INTERFACE s_axilite port = package bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    spvit::prune_stage_regs<spvit_ip::block_config> regs;
    regs.n = n;
    regs.n_protected_tail = n_protected_tail;
    regs.k = k;
    regs.threshold_mode = threshold_mode;
    regs.threshold = threshold;
    regs.package = package;

    static const unsigned BEATS = spvit_ip::T::BEATS;
    hls::stream<spvit::axis_word> in("tokens_in"), out("tokens_out");
#pragma HLS STREAM variable = in depth = 268
#pragma HLS STREAM variable = out depth = 272
    spvit_ip::beats_to_words(s_axis, in, unsigned(n) * BEATS);
    const spvit_ip::T::count_t count = spvit::prune_stage<spvit_ip::block_config>(in, scores, out, sources, regs);
    // every token the kernel streamed (it streams them even when a misplaced input TLAST makes it return 0)
    spvit_ip::words_to_beats(out, m_axis, (spvit_ip::N_MAX + 1) * BEATS);
    return count;
}
