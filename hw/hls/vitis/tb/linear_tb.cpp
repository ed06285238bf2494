// Vitis csim / cosim testbench of the `linear` IP (hw/hls/vitis/tops/linear.cpp) against golden LinearParams vectors
// (python -m spvit.sim.hls_vectors --top linear). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    typedef spvit_ip::linear_cfg C;
    tb::vector_file f(argc, argv, "linear");
    tb::checker check("linear");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long shift = f.scalar("shift");
        const std::vector<spvit_ip::mem_word> params =
            tb::to_words(f.read("params", 4 * SPVIT_IP_LINEAR_WORDS), SPVIT_IP_LINEAR_WORDS);
        const tb::values x = f.read("x", n * C::n_in);
        const tb::values want = f.read("want_y", n * C::n_out);
        hls::stream<spvit_ip::beat_t> in("x"), out("y");
        tb::push_tokens<C::n_in>(in, x, n);
        const bool framed = linear_top(in, out, params.data(), n, shift);
        tb::values got;
        check.expect_true("output tokens framed (TKEEP, TLAST) and complete", c, tb::pop_tokens<C::n_out>(out, n, got));
        check.expect_true("input framing accepted", c, framed);
        check.expect_true("input consumed, nothing extra out", c, in.empty() && out.empty());
        check.expect("y", c, got, want);
    }
    return check.finish(f);
}
