// l1ad anomaly score as an hls4ml custom layer (see l1ad/hls/score_layer.py and l1ad/fixed/score.py).
//
// Input: the encoder output [mu | logvar] (2 * n_latent values, or mu alone for mu2 on an AE).
// Output: one integer score code, reinterpreted as the (unsigned) output format: the computation is the
// integer definition of l1ad.fixed.score, bit for bit:
//   mu2: S = sum mu^2
//   kl : S = sum (mu^2 << mu2_shift) + sum (T[lv] << table_shift)      (the 1/2 is in the output format)
//   rz : S = sum mu^2 * T[lv]
// T is indexed by logvar floored and saturated into index_t (AP_TRN, AP_SAT): index = code - min_code.
#ifndef NNET_ANOMALY_SCORE_H_
#define NNET_ANOMALY_SCORE_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace nnet {

enum anomaly_score_kind { score_mu2 = 0, score_kl = 1, score_rz = 2 };

struct anomaly_score_config {
    static const unsigned n_in = 6;
    static const unsigned n_latent = 3;
    static const unsigned kind = score_mu2;
    static const unsigned mu_width = 16;       // width of the latent codes
    static const unsigned index_width = 10;    // width of the table index format
    static const bool index_signed = true;
    static const unsigned mu2_shift = 0;       // kl: F - 2 f_mu
    static const unsigned table_shift = 0;     // kl: F - f_T
    typedef ap_fixed<10, 5, AP_TRN, AP_SAT> index_t;
    typedef ap_uint<18> table_t;
    typedef ap_uint<32> accum_t;               // as wide as the output format: never overflows
    static table_t table(unsigned i) { return 0; }
};

template <class data_T, class res_T, typename CONFIG_T>
void anomaly_score(data_T data[CONFIG_T::n_in], res_T res[1]) {
    #pragma HLS INLINE
    typename CONFIG_T::accum_t sum = 0;
AnomalyScoreLoop:
    for (unsigned i = 0; i < CONFIG_T::n_latent; i++) {
        #pragma HLS UNROLL
        ap_int<CONFIG_T::mu_width> mu;
        mu.range() = data[i].range();
        ap_uint<2 * CONFIG_T::mu_width> mu2 = mu * mu;
        if (CONFIG_T::kind == score_mu2) {
            sum += mu2;
        } else {
            typename CONFIG_T::index_t lv = data[CONFIG_T::n_latent + i];  // floor + saturate
            ap_uint<CONFIG_T::index_width> index = lv.range();
            if (CONFIG_T::index_signed) {
                index[CONFIG_T::index_width - 1] = !index[CONFIG_T::index_width - 1];  // code - min_code
            }
            typename CONFIG_T::table_t t = CONFIG_T::table(index);
            if (CONFIG_T::kind == score_kl) {
                sum += (typename CONFIG_T::accum_t(mu2) << CONFIG_T::mu2_shift)
                     + (typename CONFIG_T::accum_t(t) << CONFIG_T::table_shift);
            } else {
                sum += mu2 * t;
            }
        }
    }
    res[0].range() = sum.range();
}

} // namespace nnet

#endif
