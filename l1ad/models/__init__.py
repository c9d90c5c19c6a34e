"""l1ad.models: quantized (QKeras) AE/VAE models, their training, trigger scores and run directories.

Modules: ``config`` (ModelConfig), ``builders`` (DNN/CNN AE/VAE, float and quantized, and
``build_quantized_encoder`` for randomized firmware tests), ``losses`` (masked MSE, KL, beta-VAE),
``scores`` (numpy kl / rz / mu2 / mse), ``train`` (float + quantized training), ``pruning`` (tfmot magnitude
pruning), ``export`` (deployable encoder contract), ``store`` (write / ``load_run`` a run's models and scores).
Importing this package does not import TensorFlow; the submodules that need it load it on use.
"""

__all__: list[str] = []
