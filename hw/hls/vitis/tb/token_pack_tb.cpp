// Vitis csim / cosim testbench of the `token_pack` IP (hw/hls/vitis/tops/token_pack.cpp) against golden
// token_pack.token_pack vectors (python -m spvit.sim.hls_vectors --top token_pack): the tokens that stay, in order,
// then the package token. Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned D = spvit_ip::D;
    tb::vector_file f(argc, argv, "token_pack");
    tb::checker check("token_pack");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long package = f.scalar("package");
        const tb::values x = f.read("x", n * D);
        const tb::values scores = f.read("scores", n);
        const tb::values pruned = f.read("pruned", n);
        const tb::values want = f.read("want_y");
        const long long want_count = static_cast<long long>(want.size() / D);
        std::vector<spvit_ip::mem_word> meta = tb::u16_to_words(scores, SPVIT_IP_PACK_META_WORDS);
        for (long long j = 0; j < n; j++) meta[SPVIT_IP_SCORE_WORDS + j / 128][j % 128] = pruned[j] != 0;
        hls::stream<spvit_ip::beat_t> in("x"), out("y");
        tb::push_tokens<D>(in, x, n);
        const long long count = token_pack_top(in, meta.data(), out, n, package != 0).to_int();
        tb::values got;
        check.expect_equal("count", c, count, want_count);
        check.expect_true("output tokens framed (TKEEP, TLAST) and complete", c,
                          tb::pop_tokens<D>(out, want_count, got));
        check.expect_true("input consumed, nothing extra out", c, in.empty() && out.empty());
        check.expect("y", c, got, want);
    }
    return check.finish(f);
}
