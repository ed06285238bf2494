// Vitis HLS IP top `residual_add`: spvit::residual_add (hw/hls/residual_add.hpp, docs/arithmetic.md §4) over pairs of
// D-channel tokens, D lanes per cycle. Golden: spvit.sim.golden.arith.residual_add (the registers are its shifts:
// shift_x = f - f_x, shift_r = f - f_r, shift_out = f - f_out, f = max(f_x, f_r)).
// Testbench: hw/hls/vitis/tb/residual_add_tb.cpp.
#include "spvit_ip.hpp"

bool residual_add_top(hls::stream<spvit_ip::beat_t> &s_axis_x, hls::stream<spvit_ip::beat_t> &s_axis_r,
                      hls::stream<spvit_ip::beat_t> &m_axis, ap_uint<16> n, spvit_ip::residual_cfg::align_t shift_x,
                      spvit_ip::residual_cfg::align_t shift_r,
                      spvit_ip::residual_cfg::requant_config::shift_t shift_out) {
#pragma HLS INTERFACE axis port = s_axis_x
#pragma HLS INTERFACE axis port = s_axis_r
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = shift_x bundle = control
#pragma HLS INTERFACE s_axilite port = shift_r bundle = control
#pragma HLS INTERFACE s_axilite port = shift_out bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::residual_cfg C;
    bool ok = true;
Tokens:
    for (ap_uint<16> t = 0; t < n; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 67
        spvit_ip::data_t x[C::n], r[C::n], y[C::n];
        spvit_ip::read_token<C::n>(s_axis_x, x, t + 1 == n, ok);
        spvit_ip::read_token<C::n>(s_axis_r, r, t + 1 == n, ok);
        spvit::residual_add<spvit_ip::data_t, spvit_ip::data_t, spvit_ip::data_t, C>(x, r, y, shift_x, shift_r,
                                                                                     shift_out);
        spvit_ip::write_token<C::n>(m_axis, y, t + 1 == n);
    }
    return ok;
}
