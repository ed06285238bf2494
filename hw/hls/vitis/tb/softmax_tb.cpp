// Vitis csim / cosim testbench of the `softmax` IP (hw/hls/vitis/tops/softmax.cpp) against golden softmax.softmax
// vectors (python -m spvit.sim.hls_vectors --top softmax). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    tb::vector_file f(argc, argv, "softmax");
    tb::checker check("softmax");
    for (int c = 0; c < f.cases(); c++) {
        const long long rows = f.scalar("rows");
        const long long n = f.scalar("n");
        const long long frac = f.scalar("f");
        const tb::values x = f.read("x", rows * n);
        const tb::values want8 = f.read("want_p8", rows * n);
        const tb::values want16 = f.read("want_p16", rows * n);
        hls::stream<ap_int<32> > in("x");
        hls::stream<ap_uint<8> > out8("p8");
        hls::stream<ap_uint<16> > out16("p16");
        for (size_t i = 0; i < x.size(); i++) in.write(ap_int<32>(x[i]));
        softmax_top(in, out8, out16, rows, n, frac);
        tb::values got8, got16;
        while (!out8.empty()) got8.push_back(out8.read().to_uint());
        while (!out16.empty()) got16.push_back(out16.read().to_uint());
        check.expect_true("every logit consumed", c, in.empty());
        check.expect("p8", c, got8, want8);
        check.expect("p16", c, got16, want16);
    }
    return check.finish(f);
}
