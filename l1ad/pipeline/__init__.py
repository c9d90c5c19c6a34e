"""The l1ad pipeline as a Python API: what the command line, the demo, the scripts and the tests call.

::

    from l1ad import pipeline

    run = pipeline.train("bkg.h5", "runs/mine", signals=["ato4l.h5"])   # VAE + teacher-student regressor
    run = pipeline.retrain_student("runs/mine", "runs/mine2")          # the same VAE, a new regressor
    conv = pipeline.convert(run)                   # golden FixedPointModel + hls4ml project, C-sim checked
    trigger = pipeline.trigger(run)                # the golden trigger: trigger(events) -> score codes
    pipeline.rtl(run, clock="200MHz")              # da4ml Verilog, latency, yosys resources
    summary = pipeline.verify(run)                 # QKeras, hls4ml C-sim and RTL == golden, as integers
    pipeline.rates(run, data=["zb.h5"], signals=["ato4l.h5"], target_rates=["1kHz"])
    pipeline.evaluate([run], ["test_bkg.h5"], ["ato4l.h5"], "bench")  # beside simple baselines
    pipeline.report(run)                           # runs/mine/report.html
    run = pipeline.import_hls4ml("prj/", "runs/gt", input_scaling="scaling.h", score_type="ap_ufixed<18,14>")
    run = pipeline.import_keras("encoder.h5", "runs/mine2", input_format="input_format.json")
    pipeline.score_events(run, "scores.npz", data=["zb.h5"], threshold=1234)   # score codes, values, trigger bits

The score defaults to the run's trigger score (``run.trigger_score``: ``student``, the teacher-student
regressor's output, for the default DNN VAE); ``score="kl"`` (or ``rz``, ``mu2``) picks a latent score.

Each step reads and writes the run directory (:class:`l1ad.rundir.RunDir` owns its paths); ``open_run``
opens one written earlier. Importing this package does not import TensorFlow or hls4ml.
"""

from l1ad.pipeline.evaluation import evaluate
from l1ad.pipeline.firmware import Conversion, RTLResult, convert, rtl
from l1ad.pipeline.fixed import extract, fixed_model, trigger
from l1ad.pipeline.importing import import_hls4ml, import_keras
from l1ad.pipeline.rates import rates
from l1ad.pipeline.report import report
from l1ad.pipeline.scoring import score_events
from l1ad.pipeline.training import open_run, retrain_student, train
from l1ad.pipeline.verification import verify

__all__ = [
    "Conversion",
    "RTLResult",
    "convert",
    "evaluate",
    "extract",
    "fixed_model",
    "import_hls4ml",
    "import_keras",
    "open_run",
    "rates",
    "report",
    "rtl",
    "score_events",
    "train",
    "retrain_student",
    "trigger",
    "verify",
]
