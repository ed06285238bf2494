// softmax: integer softmax over one row of int32 logits, giving p8 (uint8, frac 8) and p16 (uint16, frac 16).
//
// Contract: docs/arithmetic.md §5.2. Golden: spvit.sim.golden.softmax.softmax (and exp2_neg, POW2_LUT). Steps and
// the widths used here, for logits at frac f in [-5, 32] (a run-time register):
//   1. m = max_j x_j; d_j = min(m - x_j, 2**(f+5))                (m - x < 2**32: 33 bits; d <= 2**37)
//   2. z_j = round_shift(d_j LOG2E, f + 7), LOG2E = 47274 (Q15)   (d LOG2E < 2**50; z <= 11,819: 14 bits)
//      q_j = min(z_j >> 8, 24), r_j = z_j & 255
//   3. e_j = POW2[r_j] >> q_j                                      (24 bits; the 256-entry ROM below, Q23)
//   4. S = sum_j e_j (2**23 <= S < 2**40); s = bit_length(S) - 24; R = floor(2**(39+s) / S), a 17-bit quotient
//      from a 17-step restoring divider (R in [2**15, 2**16])
//   5. p8_j = min(round_shift(e_j R, 31 + s), 255), p16_j = min(round_shift(e_j R, 23 + s), 65535)
//      (e R < 2**40: a 24 x 17-bit product, one DSP48E2)
// Only the first n entries of a row take part (the tokens present, §11); the others read as 0.
// Hardware: three II=1 passes over the row (max; exponentials into a row buffer while summing; products and
// outputs), one divider per row between the second and the third.
#ifndef SPVIT_SOFTMAX_HPP
#define SPVIT_SOFTMAX_HPP

#include "ap_int.h"
#include "arith.hpp"

namespace spvit {

static const int SOFTMAX_LOG2E_Q15 = 47274; // floor(log2(e) 2**15 + 1/2)
static const int SOFTMAX_EXP_FRAC = 8;      // fractional bits of the base-2 exponent: log2 of the table size
static const int SOFTMAX_EXP_BITS = 23;     // e = 2**23 exp(-d)
static const int SOFTMAX_RECIP_BITS = 39;   // R = floor(2**(39 + s) / S)

// POW2[r] = floor(2**(23 - r/256) + 1/2), r = 0..255: golden's POW2_LUT entry for entry (generated from it once;
// tests/test_hls_softmax.py reads this ROM back through the csim bridge and compares it with POW2_LUT).
static const ap_uint<24> SOFTMAX_POW2[256] = {
    8388608, 8365926, 8343305, 8320745, 8298246, 8275808, 8253431, 8231114,
    8208857, 8186661, 8164525, 8142448, 8120432, 8098475, 8076577, 8054738,
    8032959, 8011238, 7989576, 7967973, 7946428, 7924941, 7903512, 7882142,
    7860829, 7839574, 7818376, 7797235, 7776152, 7755126, 7734156, 7713244,
    7692387, 7671588, 7650844, 7630157, 7609525, 7588949, 7568429, 7547965,
    7527555, 7507201, 7486902, 7466658, 7446469, 7426334, 7406253, 7386227,
    7366255, 7346338, 7326473, 7306663, 7286906, 7267203, 7247553, 7227956,
    7208412, 7188921, 7169482, 7150096, 7130763, 7111482, 7092253, 7073076,
    7053950, 7034877, 7015855, 6996885, 6977965, 6959097, 6940280, 6921514,
    6902799, 6884134, 6865520, 6846956, 6828442, 6809978, 6791564, 6773200,
    6754886, 6736621, 6718406, 6700240, 6682122, 6664054, 6646035, 6628065,
    6610143, 6592269, 6574444, 6556667, 6538938, 6521257, 6503624, 6486039,
    6468501, 6451011, 6433567, 6416171, 6398822, 6381520, 6364265, 6347056,
    6329894, 6312779, 6295709, 6278686, 6261709, 6244778, 6227892, 6211052,
    6194258, 6177509, 6160805, 6144147, 6127533, 6110965, 6094441, 6077962,
    6061528, 6045138, 6028792, 6012490, 5996233, 5980019, 5963850, 5947724,
    5931642, 5915603, 5899607, 5883655, 5867746, 5851880, 5836057, 5820276,
    5804539, 5788844, 5773191, 5757581, 5742012, 5726486, 5711002, 5695560,
    5680159, 5664801, 5649483, 5634207, 5618973, 5603779, 5588627, 5573516,
    5558445, 5543416, 5528427, 5513478, 5498570, 5483702, 5468874, 5454087,
    5439339, 5424632, 5409964, 5395336, 5380747, 5366198, 5351688, 5337217,
    5322786, 5308393, 5294039, 5279725, 5265449, 5251211, 5237012, 5222851,
    5208729, 5194645, 5180599, 5166591, 5152621, 5138688, 5124794, 5110937,
    5097117, 5083335, 5069589, 5055882, 5042211, 5028577, 5014980, 5001420,
    4987896, 4974409, 4960959, 4947544, 4934167, 4920825, 4907519, 4894250,
    4881016, 4867818, 4854656, 4841529, 4828438, 4815382, 4802361, 4789376,
    4776426, 4763511, 4750630, 4737785, 4724974, 4712198, 4699457, 4686749,
    4674077, 4661438, 4648834, 4636264, 4623728, 4611225, 4598757, 4586322,
    4573921, 4561553, 4549219, 4536918, 4524651, 4512416, 4500215, 4488047,
    4475911, 4463809, 4451739, 4439701, 4427697, 4415725, 4403785, 4391877,
    4380002, 4368158, 4356347, 4344568, 4332820, 4321105, 4309421, 4297768,
    4286147, 4274558, 4263000, 4251473, 4239977, 4228512, 4217079, 4205676,};

struct softmax_config {
    static const unsigned n_max = 256; // longest row (tokens present); rows are shorter at run time
    typedef ap_int<32> logit_t;        // §5.1: int32 logits
    typedef ap_int<7> frac_t;          // f in [-5, 32]
    typedef ap_uint<bits_for(n_max)> count_t; // n in [0, n_max]
};

// Row-length independent part: the exponential of step 1-3 for one element, d = m - x >= 0.
template <typename CONFIG_T> ap_uint<24> softmax_exp(const ap_uint<33> &diff, typename CONFIG_T::frac_t f) {
#pragma HLS INLINE
    const ap_uint<6> clamp_bits = f + 5; // 0 .. 37
    const ap_uint<38> limit = ap_uint<38>(1) << clamp_bits;
    const ap_uint<38> d = diff < limit ? ap_uint<38>(diff) : limit;
    const ap_uint<54> scaled = d * ap_uint<16>(SOFTMAX_LOG2E_Q15);
    const ap_uint<6> zshift = f + (15 - SOFTMAX_EXP_FRAC); // 2 .. 39
    const ap_uint<15> z = round_shift_right<15>(scaled, zshift);
    const ap_uint<7> whole = z >> SOFTMAX_EXP_FRAC;
    const ap_uint<5> q = whole > SOFTMAX_EXP_BITS + 1 ? ap_uint<5>(SOFTMAX_EXP_BITS + 1) : ap_uint<5>(whole);
    const ap_uint<8> r = z.range(SOFTMAX_EXP_FRAC - 1, 0);
    return SOFTMAX_POW2[r] >> q;
}

// §5.2 over x[0 .. n): p8[j], p16[j] for j < n; 0 beyond. n = 0 gives an all-zero row.
template <class logit_T, typename CONFIG_T>
void softmax(const logit_T x[CONFIG_T::n_max], typename CONFIG_T::count_t n, typename CONFIG_T::frac_t f,
             ap_uint<8> p8[CONFIG_T::n_max], ap_uint<16> p16[CONFIG_T::n_max]) {
    typedef ap_uint<40> sum_t;
    ap_uint<24> e[CONFIG_T::n_max];

    // 1. the row maximum
    logit_T m = x[0];
Max:
    for (unsigned j = 1; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
        if (j < n && x[j] > m) m = x[j];
    }

    // 2-4. exponentials and their sum
    sum_t total = 0;
Exp:
    for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
        if (j < n) {
            const ap_uint<33> diff = ap_int<34>(m) - ap_int<34>(x[j]);
            e[j] = softmax_exp<CONFIG_T>(diff, f);
        } else {
            e[j] = 0;
        }
        total += e[j];
    }

    // 4. normalised reciprocal: S in [2**(23+s), 2**(24+s)), R = floor(2**(39+s) / S) < 2**17
    const ap_uint<5> s = n == 0 ? ap_uint<5>(0) : ap_uint<5>(bit_length<40>(total) - (SOFTMAX_EXP_BITS + 1));
    const ap_uint<17> recip =
        n == 0 ? ap_uint<17>(0) : reciprocal<17, 40, 6>(total, ap_uint<6>(SOFTMAX_RECIP_BITS + s));

    // 5. outputs from the same products
Normalize:
    for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<41> prod = e[j] * recip;
        const ap_uint<10> r8 = round_shift_right<10>(prod, ap_uint<6>(SOFTMAX_RECIP_BITS - 8 + s));
        const ap_uint<18> r16 = round_shift_right<18>(prod, ap_uint<6>(SOFTMAX_RECIP_BITS - 16 + s));
        p8[j] = r8 > 255 ? ap_uint<8>(255) : ap_uint<8>(r8);
        p16[j] = r16 > 65535 ? ap_uint<16>(65535) : ap_uint<16>(r16);
    }
}

} // namespace spvit

#endif // SPVIT_SOFTMAX_HPP
