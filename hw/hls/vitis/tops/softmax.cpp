// Vitis HLS IP top `softmax`: spvit::softmax (hw/hls/softmax.hpp, docs/arithmetic.md §5.2) over rows of up to 67
// int32 logits (the digits model's attention rows), n present per row. Golden: spvit.sim.golden.softmax.softmax.
// Testbench: hw/hls/vitis/tb/softmax_tb.cpp.
#include "spvit_ip.hpp"

void softmax_top(hls::stream<ap_int<32> > &s_axis, hls::stream<ap_uint<8> > &m_axis_p8,
                 hls::stream<ap_uint<16> > &m_axis_p16, ap_uint<16> rows, spvit_ip::softmax_cfg::count_t n,
                 spvit_ip::softmax_cfg::frac_t f) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis_p8
#pragma HLS INTERFACE axis port = m_axis_p16
#pragma HLS INTERFACE s_axilite port = rows bundle = control
#pragma HLS INTERFACE s_axilite port = n bundle = control
#pragma HLS INTERFACE s_axilite port = f bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef spvit_ip::softmax_cfg C;
Rows:
    for (ap_uint<16> r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 67
        C::logit_t x[C::n_max];
        ap_uint<8> p8[C::n_max];
        ap_uint<16> p16[C::n_max];
    ReadRow:
        for (unsigned j = 0; j < C::n_max; j++) {
#pragma HLS PIPELINE II = 1
            x[j] = j < n ? C::logit_t(s_axis.read()) : C::logit_t(0);
        }
        spvit::softmax<C::logit_t, C>(x, n, f, p8, p16);
    WriteRow:
        for (unsigned j = 0; j < C::n_max; j++) {
#pragma HLS PIPELINE II = 1
            if (j < n) {
                m_axis_p8.write(p8[j]);
                m_axis_p16.write(p16[j]);
            }
        }
    }
}
