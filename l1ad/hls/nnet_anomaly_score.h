// l1ad anomaly score as an hls4ml custom layer (see l1ad/hls/score_layer.py and l1ad/fixed/scores/).
//
// Input: the encoder output [mu | logvar] (2 * n_latent values, or mu alone for scores that do not read
// logvar). Output: one integer score code, reinterpreted as the (unsigned) output format. The score is the
// sum over latent dimensions of one integer term per dimension; CONFIG_T::term (generated from the score's
// definition in l1ad.fixed.scores) computes that term exactly as the golden model does.
#ifndef NNET_ANOMALY_SCORE_H_
#define NNET_ANOMALY_SCORE_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace nnet {

struct anomaly_score_config {
    static const unsigned n_in = 6;
    static const unsigned n_latent = 3;
    static const bool has_logvar = true;
    typedef ap_uint<32> accum_t;  // as wide as the output format: never overflows
    template <class data_T> static accum_t term(data_T mu_v, data_T lv_v) { return 0; }
};

// The sum over latent dimensions of the score's per-dimension term.
template <class data_T, typename CONFIG_T> typename CONFIG_T::accum_t latent_terms(data_T data[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    typename CONFIG_T::accum_t sum = 0;
AnomalyScoreLoop:
    for (unsigned i = 0; i < CONFIG_T::n_latent; i++) {
        #pragma HLS UNROLL
        data_T lv = CONFIG_T::has_logvar ? data[CONFIG_T::n_latent + i] : data_T(0);
        sum += CONFIG_T::template term<data_T>(data[i], lv);
    }
    return sum;
}

template <class data_T, class res_T, typename CONFIG_T>
void anomaly_score(data_T data[CONFIG_T::n_in], res_T res[1]) {
    #pragma HLS INLINE
    typename CONFIG_T::accum_t sum = latent_terms<data_T, CONFIG_T>(data);
    res[0].range() = sum.range();
}

// The score plus a count term (CONFIG_T::count_term, generated from l1ad.fixed.scores.count): table[number of
// counted model inputs that hold an object], read from the model input `raw`.
template <class data_T, class raw_T, class res_T, typename CONFIG_T>
void anomaly_score_count(data_T data[CONFIG_T::n_in], raw_T raw[CONFIG_T::n_raw], res_T res[1]) {
    #pragma HLS INLINE
    typename CONFIG_T::accum_t sum = latent_terms<data_T, CONFIG_T>(data);
    sum += CONFIG_T::template count_term<raw_T>(raw);
    res[0].range() = sum.range();
}

} // namespace nnet

#endif
