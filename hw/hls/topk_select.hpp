// topk_select: which candidate tokens a pruning stage keeps (run-time k, optional threshold), as a streaming
// insertion network; the kept indices leave in their original order.
//
// Contract: docs/arithmetic.md §9. Golden: spvit.sim.golden.topk_select.topk_select (and candidates).
//   - candidates: the tokens present except the class token (index 0) and the last n_protected_tail tokens
//     (package tokens of earlier stages): indices 1 <= j < n - n_protected_tail;
//   - rank of a candidate: the candidates with a higher score, or an equal score and a lower index;
//   - top-k: keep rank < k (k clamped to the candidate count); threshold mode: also score >= threshold.
// Hardware (finn-hlslib LabelSelect_Batch style): a fully partitioned list of the best k_max (score, index) pairs,
// sorted by score, highest first. Each candidate, in index order, is inserted at II=1 with one comparator per slot:
// slot p takes the new pair if score > list[p] (strict: an equal later score never displaces an earlier one, so
// ties go to the lower index) and passes its old pair down to p + 1. After the last candidate the first
// min(k, candidates) slots -- cut at the first score below the threshold in threshold mode -- mark a keep bitmap, and
// one more II=1 pass over the tokens streams out the kept indices in original order.
#ifndef SPVIT_TOPK_SELECT_HPP
#define SPVIT_TOPK_SELECT_HPP

#include "ap_int.h"
#include "arith.hpp"
#include "hls_stream.h"

namespace spvit {

struct topk_select_config {
    static const unsigned n_max = 256; // most tokens per image
    static const unsigned k_max = 256; // insertion-network length: the largest run-time k (<= n_max)
    typedef ap_uint<16> score_t;       // keep scores, uint16 at frac 16 (§8)
    typedef ap_uint<bits_for(n_max)> count_t;     // n, k, n_protected_tail and counts, 0 .. n_max
    typedef ap_uint<clog2(n_max)> index_t;        // a token index, 0 .. n_max - 1
};

// scores [n_max] (the first n present); returns the number of kept candidates, whose indices go to `kept` in
// increasing order. k > k_max acts as k_max.
template <typename CONFIG_T>
typename CONFIG_T::count_t topk_select(const typename CONFIG_T::score_t scores[CONFIG_T::n_max],
                                       typename CONFIG_T::count_t n, typename CONFIG_T::count_t n_protected_tail,
                                       typename CONFIG_T::count_t k, bool threshold_mode,
                                       typename CONFIG_T::score_t threshold,
                                       hls::stream<typename CONFIG_T::index_t> &kept) {
    static const unsigned K = CONFIG_T::k_max;
    static_assert(K >= 1 && K <= CONFIG_T::n_max, "need 1 <= k_max <= n_max");
    typedef typename CONFIG_T::score_t score_t;
    typedef typename CONFIG_T::count_t count_t;
    typedef typename CONFIG_T::index_t index_t;

    score_t best_score[K];
    index_t best_index[K];
    bool best_valid[K];
#pragma HLS ARRAY_PARTITION variable = best_score complete
#pragma HLS ARRAY_PARTITION variable = best_index complete
#pragma HLS ARRAY_PARTITION variable = best_valid complete
    bool keep[CONFIG_T::n_max];

Reset:
    for (unsigned p = 0; p < K; p++) {
#pragma HLS UNROLL
        best_valid[p] = false;
        best_score[p] = 0;
        best_index[p] = 0;
    }
    // candidates: 1 <= j < end
    const count_t end = n > n_protected_tail ? count_t(n - n_protected_tail) : count_t(0);

Insert:
    for (unsigned j = 1; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
        keep[j] = false;
        if (j < end) {
            const score_t s = scores[j];
            bool beats[K];
#pragma HLS ARRAY_PARTITION variable = beats complete
        Compare:
            for (unsigned p = 0; p < K; p++) {
#pragma HLS UNROLL
                beats[p] = !best_valid[p] || s > best_score[p];
            }
        Shift:
            for (unsigned p = K - 1; p > 0; p--) {
#pragma HLS UNROLL
                if (beats[p]) {
                    best_score[p] = beats[p - 1] ? best_score[p - 1] : s;
                    best_index[p] = beats[p - 1] ? best_index[p - 1] : index_t(j);
                    best_valid[p] = beats[p - 1] ? best_valid[p - 1] : true;
                }
            }
            if (beats[0]) {
                best_score[0] = s;
                best_index[0] = j;
                best_valid[0] = true;
            }
        }
    }
    keep[0] = false;

    // membership: slots p < k (the list holds min(candidates, k_max) pairs), and score >= threshold
    count_t count = 0;
Mark:
    for (unsigned p = 0; p < K; p++) {
#pragma HLS PIPELINE II = 1
        if (best_valid[p] && p < k && (!threshold_mode || best_score[p] >= threshold)) {
            keep[best_index[p]] = true;
            count++;
        }
    }

Emit:
    for (unsigned j = 1; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
        if (keep[j]) kept.write(index_t(j));
    }
    return count;
}

} // namespace spvit

#endif // SPVIT_TOPK_SELECT_HPP
