// Vitis HLS IP top `selector`: spvit::selector (hw/hls/selector.hpp, docs/arithmetic.md §8.2), the SPViT multi-head
// token selector of the digits model (4 heads of 16, squeeze-excite width 2, up to 67 tokens) with encoder_block's
// layer parallelism. Golden: spvit.sim.golden.scoring.selector. Testbench: hw/hls/vitis/tb/selector_tb.cpp.
#include "spvit_ip.hpp"

bool selector_top(hls::stream<spvit_ip::beat_t> &s_axis, const spvit_ip::mem_word *params,
                  spvit_ip::mem_word *scores, spvit_ip::selector_cfg::count_t n, spvit_ip::T::eps_t eps,
                  spvit_ip::T::shift_t norm_shift, spvit_ip::T::shift_t in_shift, spvit_ip::T::shift_t mlp1_shift,
                  spvit_ip::T::shift_t mlp2_shift, spvit_ip::T::shift_t keep_shift, spvit_ip::T::shift_t se1_shift,
                  spvit_ip::T::shift_t se2_shift) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE m_axi port = params offset = slave bundle = gmem0 depth = SPVIT_IP_SELECTOR_WORDS
#pragma HLS INTERFACE m_axi port = scores offset = slave bundle = gmem1 depth = SPVIT_IP_SCORE_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = eps bundle = control
#pragma HLS INTERFACE s_axilite port = norm_shift bundle = control
#pragma HLS INTERFACE s_axilite port = in_shift bundle = control
#pragma HLS INTERFACE s_axilite port = mlp1_shift bundle = control
#pragma HLS INTERFACE s_axilite port = mlp2_shift bundle = control
#pragma HLS INTERFACE s_axilite port = keep_shift bundle = control
#pragma HLS INTERFACE s_axilite port = se1_shift bundle = control
#pragma HLS INTERFACE s_axilite port = se2_shift bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::selector_cfg C;
    typedef spvit_ip::data_t data_t;
    static const unsigned N = C::n_max, D = C::n_chan;
    static spvit::selector_params<C> p;
    spvit::load_selector_params<C>(params, 0, p);
    p.norm_eps = eps;
    p.norm_shift = norm_shift;
    p.in_shift = in_shift;
    p.mlp1_shift = mlp1_shift;
    p.mlp2_shift = mlp2_shift;
    p.keep_shift = keep_shift;
    p.se1_shift = se1_shift;
    p.se2_shift = se2_shift;
    static data_t x[N][D];
    bool ok = true;
ReadTokens:
    for (unsigned t = 0; t < N; t++) {
        if (t < n) {
            spvit_ip::read_token<D>(s_axis, x[t], t + 1 == n, ok);
        } else {
        Absent:
            for (unsigned c = 0; c < D; c++) x[t][c] = 0;
        }
    }
    C::score_t s[N];
    spvit::selector<C>(x, n, p, s);
    spvit_ip::write_u16_words<N>(scores, s, N);
    return ok;
}
