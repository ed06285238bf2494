// ctypes bridge for C-simulation of hw/hls/encoder_block.hpp: encoder_block (docs/arithmetic.md §11.2, with the
// stage scores of §8) and prune_stage (§11.3). Built and loaded by spvit.sim.hls_kernels; the hls backend
// (spvit.sim.hls_backend) runs whole bundles through it, tested in tests/test_hls_encoder_block.py.
// Streams are fed and drained exactly: the kernel must consume every input beat and emit exactly the tokens it
// reports, with TLAST on the final beat only (-3 otherwise).
#include <cstdint>

#include "encoder_block.hpp"

namespace {

// The digits model's block (configs/digits.yaml): 64 patch tokens + class token + 2 package tokens.
struct config : spvit::encoder_block_config {
    static const unsigned n_max = 67;
    static const unsigned n_chan = 64;
    static const unsigned n_heads = 4;
    static const unsigned n_hidden = 128;
    static const unsigned se_width = 2;
};
typedef spvit::encoder_block_types<config> T;
const int REG_COUNT = 29;

void feed(hls::stream<spvit::axis_word> &s, const int8_t *x, int n) {
    for (int t = 0; t < n; t++) {
        for (unsigned b = 0; b < T::BEATS; b++) {
            spvit::axis_word w;
            for (unsigned l = 0; l < 16; l++) {
                w.data.range(8 * l + 7, 8 * l) = ap_uint<8>(uint8_t(x[t * T::D + b * 16 + l]));
            }
            w.keep = 0xFFFF;
            w.last = (t + 1 == n && b + 1 == T::BEATS) ? 1 : 0;
            s.write(w);
        }
    }
}

// Reads exactly n tokens, checking TLAST, then checks that nothing is left.
bool drain(hls::stream<spvit::axis_word> &s, int8_t *y, int n) {
    for (int t = 0; t < n; t++) {
        for (unsigned b = 0; b < T::BEATS; b++) {
            if (s.empty()) return false;
            const spvit::axis_word w = s.read();
            if (w.last != ((t + 1 == n && b + 1 == T::BEATS) ? 1 : 0) || w.keep != 0xFFFF) return false;
            for (unsigned l = 0; l < 16; l++) {
                y[t * T::D + b * 16 + l] = int8_t(w.data.range(8 * l + 7, 8 * l).to_uint());
            }
        }
    }
    return s.empty();
}

void to_words(const uint32_t *src, int64_t n_words, spvit::mem_word *dst) {
    for (int64_t i = 0; i < n_words; i++) {
        spvit::mem_word w = 0;
        for (int l = 0; l < 4; l++) w.range(32 * l + 31, 32 * l) = src[4 * i + l];
        dst[i] = w;
    }
}

bool in(int64_t v, int64_t lo, int64_t hi) { return lo <= v && v <= hi; }

} // namespace

extern "C" {

int spvit_encoder_block_config(int *n_max, int *d, int *heads, int *hidden, int *se_width) {
    *n_max = config::n_max;
    *d = config::n_chan;
    *heads = config::n_heads;
    *hidden = config::n_hidden;
    *se_width = config::se_width;
    return REG_COUNT;
}

// x [n][D] -> y [n][D]; scores [n_max] when regs[20] (score_mode) is 1 or 2. Returns 0; -1 for registers outside
// their ranges; -3 for a stream fed or drained inexactly or a misplaced TLAST.
int spvit_encoder_block(const int8_t *x, const uint32_t *weights, int64_t n_words, const int64_t *r, int8_t *y,
                        uint16_t *scores) {
    const int64_t full_lo = spvit::requantize_full_config::shift_min;
    const int64_t full_hi = spvit::requantize_full_config::shift_max;
    const int64_t eps_hi = int64_t(1) << 40;
    bool ok = in(r[0], 1, config::n_max) && in(r[1], 0, n_words) && in(r[2], 1, eps_hi) && in(r[7], -5, 32) &&
              in(r[13], 1, eps_hi) && in(r[20], 0, 2) && in(r[21], 1, eps_hi);
    for (int i : {3, 4, 5, 6, 8, 9, 14, 15, 16, 22, 23, 24, 25, 26, 27, 28}) ok = ok && in(r[i], full_lo, full_hi);
    for (int i : {10, 11, 17, 18}) ok = ok && in(r[i], 0, spvit::residual_add_config::align_max);
    for (int i : {12, 19}) {
        ok = ok && in(r[i], spvit::residual_requant_config::shift_min, spvit::residual_requant_config::shift_max);
    }
    if (!ok) return -1;
    spvit::encoder_block_regs<config> regs;
    regs.n = r[0];
    regs.weights = r[1];
    regs.ln1_eps = r[2];
    regs.ln1_shift = r[3];
    regs.q_shift = r[4];
    regs.k_shift = r[5];
    regs.v_shift = r[6];
    regs.f_qk = r[7];
    regs.ctx_shift = r[8];
    regs.proj_shift = r[9];
    regs.res1_x = r[10];
    regs.res1_r = r[11];
    regs.res1_out = r[12];
    regs.ln2_eps = r[13];
    regs.ln2_shift = r[14];
    regs.fc1_shift = r[15];
    regs.fc2_shift = r[16];
    regs.res2_x = r[17];
    regs.res2_r = r[18];
    regs.res2_out = r[19];
    regs.score_mode = r[20];
    regs.sel_eps = r[21];
    regs.sel_norm_shift = r[22];
    regs.sel_in_shift = r[23];
    regs.sel_mlp1_shift = r[24];
    regs.sel_mlp2_shift = r[25];
    regs.sel_keep_shift = r[26];
    regs.sel_se1_shift = r[27];
    regs.sel_se2_shift = r[28];

    static spvit::mem_word mem[1 << 16];
    if (n_words > (1 << 16)) return -1;
    to_words(weights, n_words, mem);
    static spvit::mem_word score_words[(config::n_max + 7) / 8];
    hls::stream<spvit::axis_word> s_axis, m_axis;
    feed(s_axis, x, int(r[0]));
    const bool framed = spvit::encoder_block<config>(s_axis, m_axis, mem, score_words, regs);
    if (!framed || !s_axis.empty() || !drain(m_axis, y, int(r[0]))) return -3;
    if (r[20] != spvit::SCORE_NONE) {
        for (unsigned j = 0; j < config::n_max; j++) {
            scores[j] = score_words[j / 8].range(16 * (j % 8) + 15, 16 * (j % 8)).to_uint();
        }
    }
    return 0;
}

// x [n][D], scores [n_max] -> out [n_out][D], sources [n_out] (input index of each output token; n for the package
// token); *n_out. Returns 0, -1 for registers outside their ranges, -3 for an inexact stream.
int spvit_prune_stage(const int8_t *x, int n, const uint16_t *scores, int tail, int k, int threshold_mode,
                      int threshold, int package, int8_t *out, int32_t *sources, int32_t *n_out) {
    if (!in(n, 1, config::n_max) || !in(tail, 0, config::n_max) || !in(k, 0, config::n_max) ||
        !in(threshold, 0, 65535)) {
        return -1;
    }
    spvit::prune_stage_regs<config> regs;
    regs.n = n;
    regs.n_protected_tail = tail;
    regs.k = k;
    regs.threshold_mode = threshold_mode != 0;
    regs.threshold = threshold;
    regs.package = package != 0;
    static spvit::mem_word score_words[(config::n_max + 7) / 8], source_words[(config::n_max + 1 + 7) / 8];
    for (unsigned w = 0; w < (config::n_max + 7) / 8; w++) {
        spvit::mem_word word = 0;
        for (unsigned l = 0; l < 8; l++) {
            if (w * 8 + l < config::n_max) word.range(16 * l + 15, 16 * l) = scores[w * 8 + l];
        }
        score_words[w] = word;
    }
    hls::stream<spvit::axis_word> s_axis, m_axis;
    feed(s_axis, x, n);
    const int count = spvit::prune_stage<config>(s_axis, score_words, m_axis, source_words, regs).to_int();
    if (count == 0 || !s_axis.empty() || !drain(m_axis, out, count)) return -3;
    for (int i = 0; i < count; i++) sources[i] = source_words[i / 8].range(16 * (i % 8) + 15, 16 * (i % 8)).to_int();
    *n_out = count;
    return 0;
}

} // extern "C"
