// token_pack: the tokens a pruning stage keeps, in order, followed by its package token -- the score-weighted mean
// of the pruned tokens.
//
// Contract: docs/arithmetic.md §10 (package token) and §11.3 (the next sequence). Golden: spvit.sim.golden.
// token_pack.token_pack and the gather in model.prune_stage.
//   w_j = score_j + 1 (uint17); pkg[c] = rdiv(sum_j w_j x[j][c], sum_j w_j) over the pruned tokens j; all zeros when
//   nothing is pruned. Numerators are int48 and the denominator uint33 (65,535 tokens), as the contract states; the
//   result lies within the pruned tokens' range, so it is int8 without saturation.
// The tokens present that are not pruned (class token, kept candidates, earlier package tokens) leave in their
// original order, then the package token when `package` is set.
// Hardware: one II=1 pass over the tokens, `simd` channels per cycle (D / simd cycles per token): a kept token is
// copied out, a pruned one accumulated into D per-channel numerators (partitioned by simd). Then D sequential
// rdiv divisions (one per channel) make the package token.
#ifndef SPVIT_TOKEN_PACK_HPP
#define SPVIT_TOKEN_PACK_HPP

#include "ap_int.h"
#include "arith.hpp"

namespace spvit {

struct token_pack_config {
    static const unsigned n_max = 256; // most tokens per image (<= 65,535)
    static const unsigned n_chan = 192; // D
    static const unsigned simd = 8;     // channels per cycle; divides n_chan
    typedef ap_uint<16> score_t;
    typedef ap_uint<bits_for(n_max + 1)> count_t;
    typedef ap_int<48> num_t;  // sum_j w_j x[j][c] (< 2**40)
    typedef ap_uint<33> den_t; // sum_j w_j (< 2**33)
};

// x [n_max][n_chan], the first n present; out [n_max + 1][n_chan]. Returns the number of tokens written.
template <class data_T, typename CONFIG_T>
typename CONFIG_T::count_t token_pack(const data_T x[CONFIG_T::n_max][CONFIG_T::n_chan],
                                      const typename CONFIG_T::score_t scores[CONFIG_T::n_max],
                                      const bool pruned[CONFIG_T::n_max], typename CONFIG_T::count_t n, bool package,
                                      data_T out[CONFIG_T::n_max + 1][CONFIG_T::n_chan]) {
    static const unsigned D = CONFIG_T::n_chan;
    static const unsigned S = CONFIG_T::simd;
    static_assert(D % S == 0, "simd must divide n_chan");
    static_assert(CONFIG_T::n_max <= 65535, "the contract's widths hold for up to 65,535 tokens");
#pragma HLS ARRAY_PARTITION variable = x cyclic factor = S dim = 2
#pragma HLS ARRAY_PARTITION variable = out cyclic factor = S dim = 2
    typedef typename CONFIG_T::num_t num_t;
    typedef typename CONFIG_T::den_t den_t;
    typedef typename CONFIG_T::count_t count_t;
    num_t num[D];
#pragma HLS ARRAY_PARTITION variable = num cyclic factor = S dim = 1
    den_t den = 0;
    count_t n_out = 0;

ResetNum:
    for (unsigned c = 0; c < D; c++) {
#pragma HLS PIPELINE II = 1
        num[c] = 0;
    }
Tokens:
    for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
        if (j >= n) break;
        const ap_uint<17> w = ap_uint<17>(scores[j]) + 1;
        const bool drop = pruned[j];
    Channels:
        for (unsigned c = 0; c < D; c += S) {
#pragma HLS PIPELINE II = 1
        Lanes:
            for (unsigned l = 0; l < S; l++) {
#pragma HLS UNROLL
                if (drop) {
                    num[c + l] += ap_int<18>(w) * x[j][c + l]; // 17 x 8 -> 25-bit product
                } else {
                    out[n_out][c + l] = x[j][c + l];
                }
            }
        }
        if (drop) {
            den += w;
        } else {
            n_out++;
        }
    }
    if (package) {
    Package:
        for (unsigned c = 0; c < D; c++) {
            out[n_out][c] = den == 0 ? data_T(0) : data_T(rdiv<num_t::width, den_t::width>(num[c], den));
        }
        n_out++;
    }
    return n_out;
}

} // namespace spvit

#endif // SPVIT_TOKEN_PACK_HPP
