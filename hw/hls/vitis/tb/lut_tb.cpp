// Vitis csim / cosim testbench of the `lut` IP (hw/hls/vitis/tops/lut.cpp) against golden lut.lut vectors
// (python -m spvit.sim.hls_vectors --top lut). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned C = spvit_ip::lut_cfg::n;
    tb::vector_file f(argc, argv, "lut");
    tb::checker check("lut");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const std::vector<spvit_ip::mem_word> table =
            tb::to_words(f.read("table", 4 * SPVIT_IP_LUT_WORDS), SPVIT_IP_LUT_WORDS);
        const tb::values x = f.read("x", n * C);
        const tb::values want = f.read("want_y", n * C);
        hls::stream<spvit_ip::beat_t> in("x"), out("y");
        tb::push_tokens<C>(in, x, n);
        const bool framed = lut_top(in, out, table.data(), n);
        tb::values got;
        check.expect_true("output tokens framed (TKEEP, TLAST) and complete", c, tb::pop_tokens<C>(out, n, got));
        check.expect_true("input framing accepted", c, framed);
        check.expect_true("input consumed, nothing extra out", c, in.empty() && out.empty());
        check.expect("y", c, got, want);
    }
    return check.finish(f);
}
