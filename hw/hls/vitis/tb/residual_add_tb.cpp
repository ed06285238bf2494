// Vitis csim / cosim testbench of the `residual_add` IP (hw/hls/vitis/tops/residual_add.cpp) against golden
// arith.residual_add vectors (python -m spvit.sim.hls_vectors --top residual_add). Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned D = spvit_ip::residual_cfg::n;
    tb::vector_file f(argc, argv, "residual_add");
    tb::checker check("residual_add");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long shift_x = f.scalar("shift_x");
        const long long shift_r = f.scalar("shift_r");
        const long long shift_out = f.scalar("shift_out");
        const tb::values x = f.read("x", n * D);
        const tb::values r = f.read("r", n * D);
        const tb::values want = f.read("want_y", n * D);
        hls::stream<spvit_ip::beat_t> in_x("x"), in_r("r"), out("y");
        tb::push_tokens<D>(in_x, x, n);
        tb::push_tokens<D>(in_r, r, n);
        const bool framed = residual_add_top(in_x, in_r, out, n, shift_x, shift_r, shift_out);
        tb::values got;
        check.expect_true("output tokens framed (TKEEP, TLAST) and complete", c, tb::pop_tokens<D>(out, n, got));
        check.expect_true("input framing accepted", c, framed);
        check.expect_true("inputs consumed, nothing extra out", c, in_x.empty() && in_r.empty() && out.empty());
        check.expect("y", c, got, want);
    }
    return check.finish(f);
}
