// Vitis HLS IP top `lut`: spvit::lut (hw/hls/lut.hpp, docs/arithmetic.md §7) -- the GELU table over the digits
// model's MLP width (128 channels, 16 lookups per cycle). Golden: spvit.sim.golden.lut.lut.
// Testbench: hw/hls/vitis/tb/lut_tb.cpp.
#include "spvit_ip.hpp"

bool lut_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
             const spvit_ip::mem_word *table, ap_uint<16> n) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = table offset = slave bundle = gmem0 depth = SPVIT_IP_LUT_WORDS
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::lut_cfg C;
    spvit_ip::data_t t8[256];
    spvit::load_lanes<8>(table, 0, t8, 256);
    bool ok = true;
Tokens:
    for (ap_uint<16> t = 0; t < n; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 67
        spvit_ip::data_t x[C::n], y[C::n];
        spvit_ip::read_token<C::n>(s_axis, x, t + 1 == n, ok);
        spvit::lut<spvit_ip::data_t, spvit_ip::data_t, C>(x, y, t8);
        spvit_ip::write_token<C::n>(m_axis, y, t + 1 == n);
    }
    return ok;
}
