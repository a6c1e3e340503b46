"""Full-ranking metrics against hand-computed arrays."""

import math

import numpy as np
import pytest
import torch

from edgerec.metrics import METRIC_KEYS, MISS_RANK, metrics_from_ranks, target_ranks, top_k


def ranks_of(scores, targets, exclude):
    rows = torch.tensor([r for r, _ in exclude], dtype=torch.long)
    cols = torch.tensor([c for _, c in exclude], dtype=torch.long)
    return target_ranks(torch.tensor(scores, dtype=torch.float64), torch.tensor(targets), rows, cols).tolist()


def test_rank_counts_items_scoring_above_the_target():
    # user 0: target col 2 (0.5) has 0.9 and 0.7 above it -> rank 2
    # user 1: target col 0 is the best -> rank 0
    assert ranks_of([[0.9, 0.7, 0.5, 0.1], [0.8, 0.1, 0.2, 0.3]], [2, 0], []) == [2, 0]


def test_history_items_are_excluded_the_target_too_when_it_is_one():
    scores = [[0.9, 0.7, 0.5, 0.1]]
    # excluding cols 0 and 1 lifts the target (col 2) to rank 0
    assert ranks_of(scores, [2], [(0, 0), (0, 1)]) == [0]
    # a target that is in the history (a re-purchase) cannot be served (excludeSeen): a miss
    assert ranks_of(scores, [2], [(0, 0), (0, 2)]) == [MISS_RANK]
    assert metrics_from_ranks(np.array([MISS_RANK]))["hr@20"] == 0.0


def test_ties_rank_against_the_target():
    # a constant scorer must not look perfect: the 3 other items tie with the target
    assert ranks_of([[1.0, 1.0, 1.0, 1.0]], [1], []) == [3]
    assert ranks_of([[2.0, 1.0, 1.0, 0.0]], [2], []) == [2]


def test_metrics_match_hand_computed_values():
    ranks = np.array([0, 3, 7, 12, 30])
    m = metrics_from_ranks(ranks)
    assert list(m) == list(METRIC_KEYS)
    assert m["hr@5"] == pytest.approx(2 / 5)
    assert m["hr@10"] == pytest.approx(3 / 5)
    assert m["hr@20"] == pytest.approx(4 / 5)
    assert m["ndcg@5"] == pytest.approx((1 + 1 / math.log2(5)) / 5)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5) + 1 / math.log2(9)) / 5)
    assert m["ndcg@20"] == pytest.approx((1 + 1 / math.log2(5) + 1 / math.log2(9) + 1 / math.log2(14)) / 5)
    assert m["mrr"] == pytest.approx((1 + 1 / 4 + 1 / 8 + 1 / 13 + 1 / 31) / 5)


def test_top_k_skips_history():
    scores = torch.tensor([[0.9, 0.7, 0.5, 0.1, 0.6]])
    top = top_k(scores, torch.tensor([0]), torch.tensor([0]), 3)
    assert top.tolist() == [[1, 4, 2]]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_target_score_is_a_miss_never_a_hit(bad):
    # NaN compares false with everything: it used to count as "-1 other items tie", rank -1, a hit
    scores = [[0.9, bad, 0.5, 0.1], [bad, bad, bad, bad]]
    ranks = ranks_of(scores, [1, 0], [(0, 3)])
    assert ranks == [MISS_RANK, MISS_RANK] and MISS_RANK > 4  # worse than last place
    m = metrics_from_ranks(np.array(ranks))
    # a miss at every cutoff, although the catalog (4 items) is smaller than K = 5, 10, 20
    assert all(m[k] == 0.0 for k in METRIC_KEYS if k != "mrr") and m["mrr"] < 1e-9
    # a finite target next to NaN items keeps its rank among the finite ones
    assert ranks_of([[float("nan"), 0.7, 0.5]], [2], []) == [1]
