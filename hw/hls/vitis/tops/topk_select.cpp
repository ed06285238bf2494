// Vitis HLS IP top `topk_select`: spvit::topk_select (hw/hls/topk_select.hpp, docs/arithmetic.md §9) for up to 67
// tokens with a 67-slot insertion network (k up to every candidate), as prune_stage instantiates it. The kept
// indices leave in increasing order on m_axis; the return value counts them. Golden: spvit.sim.golden.topk_select.
// topk_select. Testbench: hw/hls/vitis/tb/topk_select_tb.cpp.
#include "spvit_ip.hpp"

spvit_ip::topk_cfg::count_t topk_select_top(hls::stream<spvit_ip::topk_cfg::score_t> &s_axis,
                                            hls::stream<spvit_ip::topk_cfg::index_t> &m_axis,
                                            spvit_ip::topk_cfg::count_t n,
                                            spvit_ip::topk_cfg::count_t n_protected_tail,
                                            spvit_ip::topk_cfg::count_t k, bool threshold_mode,
                                            spvit_ip::topk_cfg::score_t threshold) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = n_protected_tail bundle = control
#pragma HLS INTERFACE s_axilite port = k bundle = control
#pragma HLS INTERFACE s_axilite port = threshold_mode bundle = control
#pragma HLS INTERFACE s_axilite port = threshold bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::topk_cfg C;
    C::score_t scores[C::n_max];
ReadScores:
    for (unsigned j = 0; j < C::n_max; j++) {
#pragma HLS PIPELINE II = 1
        scores[j] = j < n ? s_axis.read() : C::score_t(0);
    }
    return spvit::topk_select<C>(scores, n, n_protected_tail, k, threshold_mode, threshold, m_axis);
}
