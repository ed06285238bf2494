// Vitis HLS IP top `requantize`: spvit::requantize (hw/hls/requantize.hpp, docs/arithmetic.md §2.3) over a stream of
// int32 accumulators, one per cycle, with the contract's whole shift range (requantize_full_config, [-32, 40]).
// Golden: spvit.sim.golden.arith.requantize. Testbench: hw/hls/vitis/tb/requantize_tb.cpp.
#include "spvit_ip.hpp"

void requantize_top(hls::stream<ap_int<32> > &s_axis, hls::stream<ap_int<8> > &m_axis, ap_uint<32> count,
                    spvit_ip::requantize_cfg::shift_t shift) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE s_axilite port = count bundle = control
#pragma HLS INTERFACE s_axilite port = shift bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
Elements:
    for (ap_uint<32> i = 0; i < count; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
        m_axis.write(spvit::requantize<ap_int<32>, ap_int<8>, spvit_ip::requantize_cfg>(s_axis.read(), shift));
    }
}
