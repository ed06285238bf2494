// Vitis csim / cosim testbench of the `encoder_block` IP (hw/hls/vitis/tops/encoder_block.cpp) against golden
// model.encoder_block vectors with the stage scores (python -m spvit.sim.hls_vectors --top encoder_block): output
// tokens and, when the block scores its stage, the scores. Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned N = spvit_ip::N_MAX, D = spvit_ip::D;
    typedef spvit_ip::T T;
    tb::vector_file f(argc, argv, "encoder_block");
    tb::checker check("encoder_block");
    for (int c = 0; c < f.cases(); c++) {
        // spvit.sim.hls_kernels.ENCODER_BLOCK_REGS order
        const tb::values r = f.read("regs", 29);
        const long long n = r[0];
        const std::vector<spvit_ip::mem_word> mem = tb::to_words(f.read("mem"), SPVIT_IP_BLOCK_WORDS);
        const tb::values x = f.read("x", n * D);
        const tb::values want_y = f.read("want_y", n * D);
        const tb::values want_scores = f.read("want_scores", N);
        hls::stream<spvit_ip::beat_t> in("x"), out("y");
        tb::push_tokens<D>(in, x, n);
        std::vector<spvit_ip::mem_word> scores(SPVIT_IP_SCORE_WORDS, spvit_ip::mem_word(0));
        const bool framed = encoder_block_top(
            in, out, mem.data(), scores.data(), n, static_cast<unsigned>(r[1]), T::eps_t(r[2]), r[3], r[4], r[5],
            r[6], r[7], r[8], r[9], r[10], r[11], r[12], T::eps_t(r[13]), r[14], r[15], r[16], r[17], r[18], r[19],
            r[20], T::eps_t(r[21]), r[22], r[23], r[24], r[25], r[26], r[27], r[28]);
        tb::values got;
        check.expect_true("output tokens framed (TKEEP, TLAST) and complete", c, tb::pop_tokens<D>(out, n, got));
        check.expect_true("input framing accepted", c, framed);
        check.expect_true("input consumed, nothing extra out", c, in.empty() && out.empty());
        check.expect("y", c, got, want_y);
        if (r[20] != spvit::SCORE_NONE) check.expect("scores", c, tb::u16_from_words(scores.data(), N), want_scores);
    }
    return check.finish(f);
}
