// Vitis HLS IP top `layernorm`: spvit::layernorm (hw/hls/layernorm.hpp, docs/arithmetic.md §6) over D-channel
// tokens, 8 channels per cycle. Golden: spvit.sim.golden.layernorm.layernorm. Testbench: hw/hls/vitis/tb/
// layernorm_tb.cpp.
#include "spvit_ip.hpp"

bool layernorm_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                   const spvit_ip::mem_word *params, ap_uint<16> n, spvit_ip::layernorm_cfg::eps_t eps,
                   spvit_ip::layernorm_cfg::requant_config::shift_t shift) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = params offset = slave bundle = gmem0 depth = SPVIT_IP_LAYERNORM_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = eps bundle = control
#pragma HLS INTERFACE s_axilite port = shift bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::layernorm_cfg C;
    C::gamma_t g[C::n_in];
    C::beta_t b[C::n_in];
    const unsigned word = spvit::load_lanes<16>(params, 0, g, C::n_in);
    spvit::load_lanes<32>(params, word, b, C::n_in);
    bool ok = true;
Tokens:
    for (ap_uint<16> t = 0; t < n; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 67
        spvit_ip::data_t x[C::n_in], y[C::n_in];
        spvit_ip::read_token<C::n_in>(s_axis, x, t + 1 == n, ok);
        spvit::layernorm<spvit_ip::data_t, spvit_ip::data_t, C>(x, y, g, b, eps, shift);
        spvit_ip::write_token<C::n_in>(m_axis, y, t + 1 == n);
    }
    return ok;
}
