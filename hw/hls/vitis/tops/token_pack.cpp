// Vitis HLS IP top `token_pack`: spvit::token_pack (hw/hls/token_pack.hpp, docs/arithmetic.md §10, §11.3) for up to
// 67 tokens of 64 channels: the tokens that are not pruned, in order, then the package token (the score-weighted
// mean of the pruned ones). Golden: spvit.sim.golden.token_pack.token_pack. Testbench: hw/hls/vitis/tb/
// token_pack_tb.cpp.
#include "spvit_ip.hpp"

spvit_ip::pack_cfg::count_t token_pack_top(hls::stream<spvit_ip::beat_t> &s_axis, const spvit_ip::mem_word *meta,
                                           hls::stream<spvit_ip::beat_t> &m_axis, spvit_ip::pack_cfg::count_t n,
                                           bool package) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = meta offset = slave bundle = gmem0 depth = SPVIT_IP_PACK_META_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = package bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::pack_cfg C;
    typedef spvit_ip::data_t data_t;
    static const unsigned N = C::n_max, D = C::n_chan;
    static data_t x[N][D], out[N + 1][D];
    C::score_t scores[N];
    bool pruned[N];
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
    static_assert(N <= 128, "the pruned bitmap is one word");
    const spvit_ip::mem_word bitmap = meta[SPVIT_IP_SCORE_WORDS];
ReadMeta:
    for (unsigned w = 0; w < SPVIT_IP_SCORE_WORDS; w++) {
#pragma HLS PIPELINE II = 1
        const spvit_ip::mem_word word = meta[w];
    Lanes:
        for (unsigned l = 0; l < 8; l++) {
            if (w * 8 + l < N) {
                scores[w * 8 + l] = word.range(16 * l + 15, 16 * l);
                pruned[w * 8 + l] = bitmap[w * 8 + l] == 1;
            }
        }
    }
    const C::count_t count = spvit::token_pack<data_t, C>(x, scores, pruned, n, package, out);
WriteTokens:
    for (unsigned t = 0; t < N + 1; t++) {
        if (t >= count) break;
        spvit_ip::write_token<D>(m_axis, out[t], t + 1 == count);
    }
    return ok ? count : C::count_t(0);
}
