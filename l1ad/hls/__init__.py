"""l1ad.hls: hls4ml projects of the quantized encoder + anomaly score, C-simulation, HLS reports.

- :mod:`l1ad.hls.project`: conversion (the only module importing hls4ml), precisions from the
  FixedPointModel, C-simulation as integer codes, ``build()`` where Vivado/Vitis HLS exists;
- :mod:`l1ad.hls.score_layer`: the score as an hls4ml custom layer (Extension API) + ``nnet_anomaly_score.h``;
- :mod:`l1ad.hls.report`: csynth report parsing (latency, II, resources).
"""

__all__: list[str] = []
