// Vitis csim / cosim testbench of the `selector` IP (hw/hls/vitis/tops/selector.cpp) against golden scoring.selector
// vectors (python -m spvit.sim.hls_vectors --top selector). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned N = spvit_ip::N_MAX, D = spvit_ip::D;
    tb::vector_file f(argc, argv, "selector");
    tb::checker check("selector");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long eps = f.scalar("eps");
        const tb::values shifts = f.read("shifts", 7); // norm, in, mlp1, mlp2, keep, se1, se2
        const std::vector<spvit_ip::mem_word> params =
            tb::to_words(f.read("params", 4 * SPVIT_IP_SELECTOR_WORDS), SPVIT_IP_SELECTOR_WORDS);
        const tb::values x = f.read("x", n * D);
        const tb::values want = f.read("want_scores", N);
        hls::stream<spvit_ip::beat_t> in("x");
        tb::push_tokens<D>(in, x, n);
        std::vector<spvit_ip::mem_word> scores(SPVIT_IP_SCORE_WORDS, spvit_ip::mem_word(0));
        const bool framed = selector_top(in, params.data(), scores.data(), n, spvit_ip::T::eps_t(eps), shifts[0],
                                         shifts[1], shifts[2], shifts[3], shifts[4], shifts[5], shifts[6]);
        check.expect_true("input framing accepted", c, framed);
        check.expect_true("input consumed", c, in.empty());
        check.expect("scores", c, tb::u16_from_words(scores.data(), N), want);
    }
    return check.finish(f);
}
