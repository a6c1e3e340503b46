"""Properties of the model modules the Worker relies on, and the sampled-softmax training path."""

import numpy as np
import pytest
import torch

from edgerec.config import load_config
from edgerec.data import load_dataset, split
from edgerec.model import build_model, mean_pool_matrix
from edgerec.train import dims_of
from tiny_data import write_tiny_shop


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    events, items = write_tiny_shop(tmp_path_factory.mktemp("shop"))
    cfg = load_config(
        None,
        [
            "model.dim=16",
            "data.max_len=8",
            "data.min_token_count=1",
            "train.sampled_softmax=8",
            "train.full_softmax_max_logits=0",
        ],
    )
    ds = load_dataset(cfg.data, events=events, items=items)
    torch.manual_seed(0)
    model = build_model(cfg, dims_of(ds), ds.item_tokens, ds.item_category, ds.train_counts)
    return cfg, ds, model


def test_left_padding_does_not_change_the_user_embedding(tiny):
    cfg, ds, model = tiny
    model.eval()
    test = split(ds, "test", cfg.data.max_len)
    with torch.no_grad():
        table = model.item_table()
        rows = slice(0, 5)
        full = model.user(
            table[torch.from_numpy(test.hist_items[rows])],
            torch.from_numpy(test.hist_events[rows]),
            torch.from_numpy(test.hist_age[rows]),
        )
        # the same histories in 3 more slots of padding (positions count from the end)
        pad = lambda a: np.concatenate([np.zeros((5, 3), a.dtype), a[rows]], axis=1)
        longer = model.user.__class__(cfg.model, cfg.data.max_len + 3, len(ds.categories))
        state = model.user.state_dict()
        state["pos_emb.weight"] = torch.cat([state["pos_emb.weight"], torch.zeros(3, cfg.model.dim)])
        longer.load_state_dict(state)
        longer.eval()
        padded = longer(
            table[torch.from_numpy(pad(test.hist_items))],
            torch.from_numpy(pad(test.hist_events)),
            torch.from_numpy(pad(test.hist_age)),
        )
    torch.testing.assert_close(full[0], padded[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(full[1], padded[1], atol=1e-5, rtol=1e-5)
    attention = full[2].numpy()
    assert np.allclose(attention.sum(1), 1, atol=1e-5)
    assert np.all(attention[test.hist_events[rows] == 0] < 1e-6)  # nothing on padding slots


def test_text_pooling_matrix_equals_the_exported_encoder(tiny):
    _, ds, model = tiny
    tokens = torch.from_numpy(ds.item_tokens)
    text = model.items.text.eval()
    with torch.no_grad():
        pooled = mean_pool_matrix(tokens, text.tok.num_embeddings) @ text.tok.weight
        torch.testing.assert_close(
            text.head(pooled, (tokens > 0).any(1, keepdim=True)), text(tokens), atol=1e-5, rtol=1e-5
        )
        assert text(torch.zeros(2, tokens.shape[1], dtype=torch.long)).abs().max() == 0


def test_sampled_softmax_step_trains(tiny):
    cfg, ds, model = tiny
    model.train()
    tr = split(ds, "train", cfg.data.max_len)
    batch = {
        k: torch.from_numpy(getattr(tr, k)[:16])
        for k in ("hist_items", "hist_events", "hist_age", "targets", "target_events")
    }
    assert model.sampled
    loss, parts = model(batch)
    assert set(parts) == {"retrieval", "user", "item", "rank", "text"} and torch.isfinite(loss)
    loss.backward()
    assert model.items.id_emb.weight.grad.abs().sum() > 0 and model.ranker.mlp[0].weight.grad.abs().sum() > 0


def test_item_rows_equal_the_full_table_rows(tiny):
    """A sampled step embeds only the items it touches: the same vectors as the full table's rows."""
    _, ds, model = tiny
    model.eval()
    with torch.no_grad():
        table = model.item_table()
        index = torch.tensor([0, 1, 3, ds.num_items, 2, 3])
        torch.testing.assert_close(model.items.rows(index), table[index], atol=1e-5, rtol=1e-5)
        assert model.items.rows(torch.tensor([0])).abs().max() == 0  # padding stays zero


def test_full_or_sampled_softmax_follows_the_positions_rows_really_have():
    from edgerec.config import Config
    from edgerec.model import uses_sampled_softmax

    cfg = Config()  # 256 rows, max_len 50, 2048 negatives, 2^26 logits
    # Beauty: 12k items, ~6 trained positions a row: the exact softmax (18M logits)
    assert not uses_sampled_softmax(cfg, 12_101, 5.9)
    # the same catalog judged by max_len alone (155M) would have been sampled
    assert uses_sampled_softmax(cfg, 12_101)
    # a 20k-item catalog whose rows are full (50 positions, 256M logits): sampled
    assert uses_sampled_softmax(cfg, 20_000, 50.0)
    # never sampled when there are fewer items than negatives
    assert not uses_sampled_softmax(cfg, 1_500, 50.0)


def test_small_logs_get_smaller_batches_so_an_epoch_has_enough_steps():
    from edgerec.train import batch_size_for

    assert batch_size_for(22_363, 256, 16) == 256  # Beauty: unchanged
    assert batch_size_for(1_200, 256, 16) == 64  # 19 steps an epoch instead of 5
    assert batch_size_for(100, 256, 16) == 32  # never below 32
    assert batch_size_for(4_095, 256, 16) == 128
    assert batch_size_for(1_200, 256, 0) == 256  # 0 turns it off
    assert batch_size_for(300, 48, 16) == 32  # a power of two under the configured size


def test_warmup_is_at_most_a_tenth_of_the_run():
    from edgerec.train import warmup_steps_for

    assert warmup_steps_for(3_520, 100) == 100  # Beauty: 40 epochs x 88 steps
    assert warmup_steps_for(15, 100) == 1  # 3 epochs x 5 steps: not all warmup
    assert warmup_steps_for(760, 100) == 76
