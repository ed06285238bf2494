// Vitis csim / cosim testbench of the `attention` IP (hw/hls/vitis/tops/attention.cpp) against golden
// attention.attention and scoring.asvit_score vectors (python -m spvit.sim.hls_vectors --top attention): context
// tokens, class-attention rows and AS-ViT scores. Returns non-zero on any mismatch.
#include "tb_common.hpp"

int main(int argc, char **argv) {
    static const unsigned N = spvit_ip::N_MAX, D = spvit_ip::D, H = spvit_ip::H;
    tb::vector_file f(argc, argv, "attention");
    tb::checker check("attention");
    for (int c = 0; c < f.cases(); c++) {
        const long long n = f.scalar("n");
        const long long f_qk = f.scalar("f_qk");
        const long long shift_ctx = f.scalar("shift_ctx");
        const tb::values qkv = f.read("qkv", n * 3 * D);
        const tb::values want_ctx = f.read("want_ctx", n * D);
        const tb::values want_p16 = f.read("want_cls_p16", H * N);
        const tb::values want_score = f.read("want_score", N);
        hls::stream<spvit_ip::beat_t> in("qkv"), out("ctx");
        tb::push_tokens<3 * D>(in, qkv, n);
        std::vector<spvit_ip::mem_word> cls(SPVIT_IP_CLS_WORDS, spvit_ip::mem_word(0));
        const bool framed = attention_top(in, out, cls.data(), n, f_qk, shift_ctx);
        tb::values got_ctx, got_p16;
        check.expect_true("context tokens framed (TKEEP, TLAST) and complete", c, tb::pop_tokens<D>(out, n, got_ctx));
        check.expect_true("input framing accepted", c, framed);
        check.expect_true("input consumed, nothing extra out", c, in.empty() && out.empty());
        check.expect("ctx", c, got_ctx, want_ctx);
        for (unsigned h = 0; h < H; h++) {
            const tb::values row = tb::u16_from_words(&cls[h * SPVIT_IP_SCORE_WORDS], N);
            got_p16.insert(got_p16.end(), row.begin(), row.end());
        }
        check.expect("cls_p16", c, got_p16, want_p16);
        check.expect("score", c, tb::u16_from_words(&cls[H * SPVIT_IP_SCORE_WORDS], N), want_score);
    }
    return check.finish(f);
}
