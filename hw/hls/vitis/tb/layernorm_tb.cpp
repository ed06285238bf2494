// Vitis csim / cosim testbench of the `layernorm` IP (hw/hls/vitis/tops/layernorm.cpp) against golden
// layernorm.layernorm vectors (python -m spvit.sim.hls_vectors --top layernorm). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned D = spvit_ip::layernorm_cfg::n_in;
    tb::vector_file f(argc, argv, "layernorm");
    tb::checker check("layernorm");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long eps = f.scalar("eps");
        const long long shift = f.scalar("shift");
        const std::vector<spvit_ip::mem_word> params =
            tb::to_words(f.read("params", 4 * SPVIT_IP_LAYERNORM_WORDS), SPVIT_IP_LAYERNORM_WORDS);
        const tb::values x = f.read("x", n * D);
        const tb::values want = f.read("want_y", n * D);
        hls::stream<spvit_ip::beat_t> in("x"), out("y");
        tb::push_tokens<D>(in, x, n);
        const bool framed = layernorm_top(in, out, params.data(), n, spvit_ip::layernorm_cfg::eps_t(eps), shift);
        tb::values got;
        check.expect_true("output tokens framed (TKEEP, TLAST) and complete", c, tb::pop_tokens<D>(out, n, got));
        check.expect_true("input framing accepted", c, framed);
        check.expect_true("input consumed, nothing extra out", c, in.empty() && out.empty());
        check.expect("y", c, got, want);
    }
    return check.finish(f);
}
