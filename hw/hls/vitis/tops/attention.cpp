// Vitis HLS IP top `attention`: spvit::attention and spvit::asvit_score (hw/hls/attention.hpp, docs/arithmetic.md §5
// and §8.1) for the digits model: 4 heads of 16 channels over up to 67 tokens. The input tokens are the qkv layer's
// requantized output (q | k | v, D channels each); the context leaves as D-channel tokens (head-major), the class
// row and the asvit scores over m_axi. Golden: spvit.sim.golden.attention.attention, scoring.asvit_score.
// Testbench: hw/hls/vitis/tb/attention_tb.cpp.
#include "spvit_ip.hpp"

bool attention_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                   spvit_ip::mem_word *cls, spvit_ip::attention_cfg::count_t n,
                   spvit_ip::attention_cfg::frac_t f_qk, spvit_ip::attention_cfg::requant_config::shift_t shift_ctx) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = cls offset = slave bundle = gmem0 depth = SPVIT_IP_CLS_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = f_qk bundle = control
#pragma HLS INTERFACE s_axilite port = shift_ctx bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::attention_cfg C;
    typedef spvit_ip::data_t data_t;
    static const unsigned N = C::n_max, H = C::n_heads, DH = C::d_head, D = H * DH;
    static data_t q[H][N][DH], k[H][N][DH], v[H][N][DH], ctx[H][N][DH];
    static ap_uint<16> cls_p16[H][N];
    static data_t cls_ctx[H][DH];
    ap_uint<16> score[N];
    bool ok = true;
ReadTokens:
    for (unsigned t = 0; t < N; t++) {
        data_t a[3 * D];
        if (t < n) {
            spvit_ip::read_token<3 * D>(s_axis, a, t + 1 == n, ok);
        } else {
        Absent:
            for (unsigned c = 0; c < 3 * D; c++) a[c] = 0;
        }
    Split:
        for (unsigned c = 0; c < D; c++) {
#pragma HLS PIPELINE II = 1
            q[c / DH][t][c % DH] = a[c];
            k[c / DH][t][c % DH] = a[D + c];
            v[c / DH][t][c % DH] = a[2 * D + c];
        }
    }
    spvit::attention<data_t, data_t, C>(q, k, v, n, f_qk, shift_ctx, ctx, cls_p16, cls_ctx);
    spvit::asvit_score<data_t, C>(cls_p16, cls_ctx, n, score);
WriteTokens:
    for (unsigned t = 0; t < N; t++) {
        if (t >= n) break;
        data_t y[D];
    Gather:
        for (unsigned c = 0; c < D; c++) {
#pragma HLS PIPELINE II = 1
            y[c] = ctx[c / DH][t][c % DH];
        }
        spvit_ip::write_token<D>(m_axis, y, t + 1 == n);
    }
ClassRows:
    for (unsigned h = 0; h < H; h++) {
        spvit_ip::write_u16_words<N>(cls + h * SPVIT_IP_SCORE_WORDS, cls_p16[h], N);
    }
    spvit_ip::write_u16_words<N>(cls + H * SPVIT_IP_SCORE_WORDS, score, N);
    return ok;
}
