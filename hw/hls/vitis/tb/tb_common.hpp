// Testbench support for hw/hls/vitis/tb/<ip>_tb.cpp: reads the golden vector file that
// `python -m spvit.sim.hls_vectors --top <ip> --out DIR` writes (DIR/<ip>.vec) and compares every output exactly.
// Vitis convention: main returns 0 when every value matches, 1 on a mismatch, 2 on a missing or malformed vector
// file. The same testbench runs in Vitis csim / cosim (the file is added with add_files -tb, so it lies in the
// simulation's working directory) and under g++ in tests/test_hls_vitis.py (path as argv[1]).
//
// Vector file: a header line `spvit-hls-vectors 1 <ip> <cases>`, then for every case the same named arrays, one per
// line: `<name> <count> <value> ...` (decimal integers). Arrays whose name starts with `want_` are golden outputs.
// The stimulus is packed into beats and words here, independently of the tops' own unpacking.
#ifndef SPVIT_TB_COMMON_HPP
#define SPVIT_TB_COMMON_HPP

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "spvit_ip.hpp"

namespace tb {

typedef std::vector<long long> values;

inline void fatal(const std::string &msg) {
    std::cerr << "ERROR: " << msg << std::endl;
    std::exit(2);
}

class vector_file {
  public:
    vector_file(int argc, char **argv, const std::string &ip) : ip_(ip), cases_(0) {
        path_ = argc > 1 ? std::string(argv[1]) : ip + ".vec";
        in_.open(path_.c_str());
        if (!in_) {
            fatal("cannot open " + path_ + " (write it with: python -m spvit.sim.hls_vectors --top " + ip +
                  " --out DIR)");
        }
        std::string magic, name;
        int version = 0;
        in_ >> magic >> version >> name >> cases_;
        if (!in_ || magic != "spvit-hls-vectors" || version != 1 || name != ip || cases_ < 1) {
            fatal(path_ + ": not a version-1 vector file of " + ip);
        }
    }
    int cases() const { return cases_; }

    // The next array, which must be `name` with `count` values (count < 0: any number).
    values read(const std::string &name, long long count = -1) {
        std::string got;
        long long n = -1;
        in_ >> got >> n;
        if (!in_ || got != name || n < 0) fatal(path_ + ": expected array '" + name + "', found '" + got + "'");
        if (count >= 0 && n != count) {
            fatal(path_ + ": array '" + name + "' has " + std::to_string(n) + " values, expected " +
                  std::to_string(count));
        }
        values v(static_cast<size_t>(n));
        for (size_t i = 0; i < v.size(); i++) in_ >> v[i];
        if (!in_) fatal(path_ + ": array '" + name + "' is truncated or not numeric");
        return v;
    }
    long long scalar(const std::string &name) { return read(name, 1)[0]; }

    // After the last case: nothing may follow.
    void finish() {
        std::string extra;
        if (in_ >> extra) fatal(path_ + ": unexpected data after the last case: '" + extra + "'");
    }

  private:
    std::string ip_, path_;
    std::ifstream in_;
    int cases_;
};

// Counts compared values and mismatches; prints the first few of each output.
class checker {
  public:
    explicit checker(const std::string &ip) : ip_(ip), compared_(0), mismatches_(0) {}

    void expect(const std::string &what, int c, const values &got, const values &want) {
        compared_ += static_cast<long long>(want.size());
        if (got.size() != want.size()) {
            std::cout << "MISMATCH case " << c << " " << what << ": " << got.size() << " values, expected "
                      << want.size() << std::endl;
            mismatches_++;
            return;
        }
        long long bad = 0;
        for (size_t i = 0; i < want.size(); i++) {
            if (got[i] == want[i]) continue;
            if (bad < 5) {
                std::cout << "MISMATCH case " << c << " " << what << "[" << i << "]: got " << got[i]
                          << ", expected " << want[i] << std::endl;
            }
            bad++;
        }
        if (bad > 5) std::cout << "  ... " << bad << " of " << want.size() << " values of " << what << std::endl;
        mismatches_ += bad;
    }
    void expect_equal(const std::string &what, int c, long long got, long long want) {
        expect(what, c, values(1, got), values(1, want));
    }
    void expect_true(const std::string &what, int c, bool ok) {
        compared_++;
        if (!ok) {
            std::cout << "FAILED case " << c << ": " << what << std::endl;
            mismatches_++;
        }
    }

    int finish(vector_file &f) {
        f.finish();
        if (mismatches_ == 0) {
            std::cout << "PASS " << ip_ << ": " << f.cases() << " cases, " << compared_ << " values bit-exact"
                      << std::endl;
            return 0;
        }
        std::cout << "FAIL " << ip_ << ": " << mismatches_ << " mismatches in " << compared_ << " values"
                  << std::endl;
        return 1;
    }

  private:
    std::string ip_;
    long long compared_, mismatches_;
};

// ---- packing ------------------------------------------------------------------------------------------------------

// n tokens of C int8 channels into beats: channel c in byte c % 16 of beat c / 16, TLAST on the very last beat.
template <unsigned C> void push_tokens(hls::stream<spvit_ip::beat_t> &s, const values &x, long long n) {
    for (long long t = 0; t < n; t++) {
        for (unsigned b = 0; b < C / 16; b++) {
            ap_uint<128> data = 0;
            for (unsigned l = 0; l < 16; l++) {
                const unsigned byte = static_cast<unsigned>(x[t * C + b * 16 + l]) & 0xFFu;
                data.range(8 * l + 7, 8 * l) = byte;
            }
            s.write(spvit_ip::make_beat(data, t + 1 == n && b + 1 == C / 16));
        }
    }
}

// Pops n tokens of C channels into y; false when the stream runs short, a TKEEP is not all ones, or a TLAST is not
// exactly on the final beat.
template <unsigned C> bool pop_tokens(hls::stream<spvit_ip::beat_t> &s, long long n, values &y) {
    bool ok = true;
    y.assign(static_cast<size_t>(n * C), 0);
    for (long long t = 0; t < n; t++) {
        for (unsigned b = 0; b < C / 16; b++) {
            if (s.empty()) return false;
            const spvit_ip::beat_t w = s.read();
            const bool last = t + 1 == n && b + 1 == C / 16;
            if (w.keep != 0xFFFF || w.last != (last ? 1 : 0)) ok = false;
            for (unsigned l = 0; l < 16; l++) {
                y[t * C + b * 16 + l] = static_cast<signed char>(w.data.range(8 * l + 7, 8 * l).to_uint());
            }
        }
    }
    return ok;
}

// uint32 values (4 per word, lane i in bits [32 i, 32 i + 32)) into `depth` words, zero beyond.
inline std::vector<spvit_ip::mem_word> to_words(const values &u32, unsigned depth) {
    if (u32.size() % 4 != 0 || u32.size() / 4 > depth) fatal("a word array does not fit its m_axi depth");
    std::vector<spvit_ip::mem_word> w(depth, spvit_ip::mem_word(0));
    for (size_t i = 0; i < u32.size(); i++) {
        w[i / 4].range(32 * (i % 4) + 31, 32 * (i % 4)) = static_cast<unsigned>(u32[i]);
    }
    return w;
}

// uint16 values into words, 8 per word (scores, as the host writes them).
inline std::vector<spvit_ip::mem_word> u16_to_words(const values &v, unsigned depth) {
    std::vector<spvit_ip::mem_word> w(depth, spvit_ip::mem_word(0));
    for (size_t i = 0; i < v.size(); i++) {
        w[i / 8].range(16 * (i % 8) + 15, 16 * (i % 8)) = static_cast<unsigned>(v[i]);
    }
    return w;
}

inline values u16_from_words(const spvit_ip::mem_word *w, unsigned count) {
    values v(count);
    for (unsigned i = 0; i < count; i++) v[i] = w[i / 8].range(16 * (i % 8) + 15, 16 * (i % 8)).to_uint();
    return v;
}

} // namespace tb

#endif // SPVIT_TB_COMMON_HPP
