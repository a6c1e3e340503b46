"""Symmetric per-row int8 item embeddings, exactly as docs/ARTIFACTS.md states."""

import numpy as np

from edgerec.evaluate import int8_scores
from edgerec.export import quantize_rows


def test_per_row_scale_and_rounding():
    e = np.array([[0.5, -1.27, 0.0], [0.0, 0.0, 0.0], [2.54, 1.0, -0.01]], dtype=np.float32)
    q, scale = quantize_rows(e)
    assert q.dtype == np.int8 and scale.dtype == np.float32
    np.testing.assert_allclose(scale, [1.27 / 127, 0.0, 2.54 / 127], rtol=1e-6)
    assert q[0].tolist() == [50, -127, 0]
    assert q[1].tolist() == [0, 0, 0]  # a zero row has scale 0
    assert q[2].tolist() == [127, 50, 0]
    assert np.abs(q).max() <= 127


def test_dequantized_rows_are_close_and_scores_use_the_scale():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(50, 16)).astype(np.float32)
    q, scale = quantize_rows(e)
    assert np.abs(q * scale[:, None] - e).max() <= scale.max() / 2 + 1e-6
    u = rng.normal(size=(3, 16)).astype(np.float32)
    s = int8_scores(u, q, scale)
    expected = np.array(
        [
            [float(scale[r]) * sum(float(q[r, d]) * float(u[b, d]) for d in range(16)) for r in range(50)]
            for b in range(3)
        ]
    )
    np.testing.assert_allclose(s, expected, rtol=1e-12)
