"""Float trigger scores against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from l1ad.models import scores

MU = np.array([[1.0, 2.0, 0.0]])
LOGVAR = np.array([[0.0, math.log(4.0), -math.log(2.0)]])


def test_kl_by_hand():
    # 0.5 * [(1 + 1 - 1 - 0) + (4 + 4 - 1 - ln 4) + (0 + 1/2 - 1 + ln 2)]
    expected = 0.5 * (1.0 + (7.0 - math.log(4.0)) + (-0.5 + math.log(2.0)))
    assert scores.kl(MU, LOGVAR)[0] == pytest.approx(expected, rel=1e-14)
    assert scores.kl_mean(MU, LOGVAR)[0] == pytest.approx(expected / 3, rel=1e-14)


def test_kl_is_zero_for_the_prior():
    assert scores.kl(np.zeros((2, 3)), np.zeros((2, 3))).tolist() == [0.0, 0.0]


def test_rz_by_hand():
    # 1/1 + 4/4 + 0/(1/2)
    assert scores.rz(MU, LOGVAR)[0] == pytest.approx(2.0, rel=1e-14)


def test_mu2_by_hand():
    assert scores.mu2(MU).tolist() == [5.0]


def test_mse_ignores_masked_slots():
    target = np.zeros((1, 57))
    recon = np.zeros((1, 57))
    mask = np.zeros((1, 57))
    mask[0, :2] = 1
    recon[0, :3] = [1.0, 3.0, 100.0]  # slot 2 is masked
    assert scores.mse(target, recon, mask)[0] == pytest.approx(10.0 / 57, rel=1e-14)


def test_encoder_scores_split_vae_and_ae_outputs():
    enc = np.concatenate([MU, LOGVAR], axis=1)
    vae = scores.encoder_scores(enc, latent=3, variational=True)
    assert sorted(vae) == ["kl", "kl_mean", "mu2", "rz"]
    assert vae["mu2"].tolist() == [5.0]
    ae = scores.encoder_scores(MU, latent=3, variational=False)
    assert list(ae) == ["mu2"] and ae["mu2"].tolist() == [5.0]
    with pytest.raises(ValueError, match="expected 6"):
        scores.encoder_scores(MU, latent=3, variational=True)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="NaN"):
        scores.mu2(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="shapes differ"):
        scores.kl(MU, LOGVAR[:, :2])
    with pytest.raises(ValueError, match="2-D"):
        scores.rz(MU[0], LOGVAR[0])
