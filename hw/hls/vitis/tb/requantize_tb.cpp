// Vitis csim / cosim testbench of the `requantize` IP (hw/hls/vitis/tops/requantize.cpp) against golden
// arith.requantize vectors (python -m spvit.sim.hls_vectors --top requantize). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    tb::vector_file f(argc, argv, "requantize");
    tb::checker check("requantize");
    for (int c = 0; c < f.cases(); c++) {
        const long long shift = f.scalar("shift");
        const tb::values acc = f.read("acc");
        const tb::values want = f.read("want_y", static_cast<long long>(acc.size()));
        hls::stream<ap_int<32> > in("acc");
        hls::stream<ap_int<8> > out("y");
        for (size_t i = 0; i < acc.size(); i++) in.write(ap_int<32>(acc[i]));
        requantize_top(in, out, static_cast<unsigned>(acc.size()), shift);
        tb::values got;
        while (!out.empty()) got.push_back(out.read().to_int());
        check.expect_true("every accumulator consumed", c, in.empty());
        check.expect("y", c, got, want);
    }
    return check.finish(f);
}
