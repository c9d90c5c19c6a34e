// l1ad input-scaling stage as an hls4ml custom layer (see l1ad/hls/scaling_layer.py and l1ad/fixed/scaling.py).
//
// Raw inputs (data_T, the raw ap_fixed type) become the encoder's inputs (res_T): for each input i the offset is
// subtracted in the raw type, the difference shifted in the raw type (ap_fixed's >>: a positive shift drops low
// bits, a negative one shifts left), and the result assigned to res_T (its rounding and overflow modes).
#ifndef NNET_INPUT_SCALING_H_
#define NNET_INPUT_SCALING_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace nnet {

struct input_scaling_config {
    static const unsigned n_in = 57;
    typedef ap_fixed<16, 16> raw_t;
    static raw_t offset(unsigned i) { return 0; }
    static int shift(unsigned i) { return 0; }
};

template <class data_T, class res_T, typename CONFIG_T>
void input_scaling(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS INLINE
InputScalingLoop:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        typename CONFIG_T::raw_t d = data[i] - CONFIG_T::offset(i);
        typename CONFIG_T::raw_t s = d >> CONFIG_T::shift(i);
        res[i] = s;
    }
}

} // namespace nnet

#endif
