// Vitis csim / cosim testbench of the `prune_stage` IP (hw/hls/vitis/tops/prune_stage.cpp) against golden
// model.prune_stage vectors (python -m spvit.sim.hls_vectors --top prune_stage): the next sequence and the source
// index of each of its tokens (n for the package token). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned D = spvit_ip::D;
    tb::vector_file f(argc, argv, "prune_stage");
    tb::checker check("prune_stage");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long tail = f.scalar("n_protected_tail");
        const long long k = f.scalar("k");
        const long long threshold_mode = f.scalar("threshold_mode");
        const long long threshold = f.scalar("threshold");
        const long long package = f.scalar("package");
        const tb::values x = f.read("x", n * D);
        const tb::values scores = f.read("scores", n);
        const tb::values want_y = f.read("want_y");
        const long long want_count = static_cast<long long>(want_y.size() / D);
        const tb::values want_sources = f.read("want_sources", want_count);
        const std::vector<spvit_ip::mem_word> score_words = tb::u16_to_words(scores, SPVIT_IP_SCORE_WORDS);
        std::vector<spvit_ip::mem_word> sources(SPVIT_IP_SOURCE_WORDS, spvit_ip::mem_word(0));
        hls::stream<spvit_ip::beat_t> in("x"), out("y");
        tb::push_tokens<D>(in, x, n);
        const long long count = prune_stage_top(in, score_words.data(), out, sources.data(), n, tail, k,
                                                threshold_mode != 0, threshold, package != 0)
                                    .to_int();
        tb::values got;
        check.expect_equal("count", c, count, want_count);
        check.expect_true("output tokens framed (TKEEP, TLAST) and complete", c,
                          tb::pop_tokens<D>(out, want_count, got));
        check.expect_true("input consumed, nothing extra out", c, in.empty() && out.empty());
        check.expect("y", c, got, want_y);
        check.expect("sources", c, tb::u16_from_words(sources.data(), static_cast<unsigned>(want_count)),
                     want_sources);
    }
    return check.finish(f);
}
