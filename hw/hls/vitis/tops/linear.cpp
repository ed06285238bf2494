// Vitis HLS IP top `linear`: spvit::linear (hw/hls/linear.hpp, docs/arithmetic.md §3 + §2.3) with the digits
// model's mlp.fc1 configuration (64 -> 128, simd 16, pe 4), token by token. Golden: spvit.sim.golden.params.
// LinearParams. Testbench: hw/hls/vitis/tb/linear_tb.cpp.
#include "spvit_ip.hpp"

bool linear_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                const spvit_ip::mem_word *params, ap_uint<16> n,
                spvit_ip::linear_cfg::requant_config::shift_t shift) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = params offset = slave bundle = gmem0 depth = SPVIT_IP_LINEAR_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = shift bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::linear_cfg C;
    static C::weight_t w[C::n_out][C::n_in];
    static C::bias_t b[C::n_out];
    unsigned word = spvit::load_2d<8>(params, 0, w);
    spvit::load_lanes<32>(params, word, b, C::n_out);
    bool ok = true;
Tokens:
    for (ap_uint<16> t = 0; t < n; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 67
        spvit_ip::data_t x[C::n_in], y[C::n_out];
        spvit_ip::read_token<C::n_in>(s_axis, x, t + 1 == n, ok);
        spvit::linear<spvit_ip::data_t, spvit_ip::data_t, C>(x, y, w, b, shift);
        spvit_ip::write_token<C::n_out>(m_axis, y, t + 1 == n);
    }
    return ok;
}
