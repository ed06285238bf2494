// Vitis csim / cosim testbench of the `topk_select` IP (hw/hls/vitis/tops/topk_select.cpp) against golden
// topk_select.topk_select vectors (python -m spvit.sim.hls_vectors --top topk_select): the kept indices, in order,
// and their count. Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    typedef spvit_ip::topk_cfg C;
    tb::vector_file f(argc, argv, "topk_select");
    tb::checker check("topk_select");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long tail = f.scalar("n_protected_tail");
        const long long k = f.scalar("k");
        const long long threshold_mode = f.scalar("threshold_mode");
        const long long threshold = f.scalar("threshold");
        const tb::values scores = f.read("scores", n);
        const tb::values want = f.read("want_kept");
        hls::stream<C::score_t> in("scores");
        hls::stream<C::index_t> out("kept");
        for (size_t i = 0; i < scores.size(); i++) in.write(C::score_t(scores[i]));
        const long long count = topk_select_top(in, out, n, tail, k, threshold_mode != 0, threshold).to_int();
        tb::values got;
        while (!out.empty()) got.push_back(out.read().to_uint());
        check.expect_true("every score consumed", c, in.empty());
        check.expect_equal("count", c, count, static_cast<long long>(want.size()));
        check.expect("kept", c, got, want);
    }
    return check.finish(f);
}
