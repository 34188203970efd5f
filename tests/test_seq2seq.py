"""Tests of seqlib.seq2seq and seqlib.translation: masks, attention, loss, decoding, BLEU, Multi30k files."""

from __future__ import annotations

import gzip
import math
import os
from collections import Counter
from pathlib import Path

import pytest
import torch

from seqlib import data, decoding
from seqlib.attention import AdditiveAttention, DotProductAttention, masked_softmax
from seqlib.batching import make_loader
from seqlib.seq2seq import (Seq2Seq, Seq2SeqStep, plot_attention, sequence_loss, translate_beam,
                            translate_greedy)
from seqlib.text import PAD_IDX
from seqlib.translation import (BOS_IDX, EOS_IDX, PairDataset, bleu_signature, bleu_tokens, corpus_bleu,
                                load_multi30k, seq_vocab)

MIRROR = os.environ.get("SEQLIB_DATA_DIR")
needs_multi30k = pytest.mark.skipif(not MIRROR or not (Path(MIRROR) / "multi30k").is_dir(),
                                    reason="needs SEQLIB_DATA_DIR with multi30k/")
ATTENTIONS = (None, "additive", "dot", "additive, input feeding")


def toy_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    src_len = torch.tensor([5, 2, 3])
    src = torch.randint(4, 20, (3, 5), generator=g)
    src[torch.arange(5)[None, :] >= src_len[:, None]] = PAD_IDX
    tgt_in = torch.randint(4, 15, (3, 4), generator=g)
    tgt_in[:, 0] = BOS_IDX
    return src, src_len, tgt_in


def model(attention, seed=0):
    torch.manual_seed(seed)
    feeding = attention is not None and attention.endswith("input feeding")
    return Seq2Seq(20, 15, 8, 12, attention.split(",")[0] if attention else None, input_feeding=feeding).eval()


def test_masked_softmax_gives_padding_exactly_zero_and_rows_sum_to_one():
    scores = torch.randn(2, 3, 4) * 10
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    w = masked_softmax(scores, mask)
    assert (w[0, :, 2:] == 0).all()
    assert torch.allclose(w.sum(-1), torch.ones(2, 3))


@pytest.mark.parametrize("cls", [AdditiveAttention, DotProductAttention])
def test_attention_ignores_whatever_padding_holds(cls):
    torch.manual_seed(0)
    attn = cls(3, 4, 5)
    q, H = torch.randn(2, 6, 3), torch.randn(2, 5, 4)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    c1, w1 = attn(q, H, mask)
    H2 = H.clone()
    H2[1, 2:] = 1e3
    c2, w2 = attn(q, H2, mask)
    assert torch.allclose(c1, c2, atol=1e-6) and torch.allclose(w1, w2)
    assert (w1[1, :, 2:] == 0).all() and torch.allclose(w1.sum(-1), torch.ones(2, 6))


def test_dot_product_score_is_scaled():
    attn = DotProductAttention(2, 2, 4)
    q, k = torch.randn(1, 1, 2), torch.randn(1, 3, 2)
    expected = (attn.W_q(q) @ attn.W_k(k).transpose(1, 2)) / 2.0
    assert torch.allclose(attn.scores(q, k), expected)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_model_weights_sum_to_one_over_real_positions(attention):
    src, src_len, tgt_in = toy_batch()
    logits, weights = model(attention).forward_with_weights(src, src_len, tgt_in)
    assert logits.shape == (3, 4, 15)
    if attention is None:
        assert weights is None
        return
    assert weights.shape == (3, 4, 5)
    real = torch.arange(5)[None, None, :] < src_len[:, None, None]
    assert (weights[~real.expand_as(weights)] == 0).all()
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4), atol=1e-6)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_a_source_alone_and_padded_in_a_batch_gives_the_same_output(attention):
    src, src_len, tgt_in = toy_batch()
    net = model(attention)
    batch = net(src, src_len, tgt_in)
    alone = net(src[1:2, :2], src_len[1:2], tgt_in[1:2])
    assert torch.allclose(batch[1:2], alone, atol=1e-5)


def test_input_feeding_feeds_the_last_attentional_vector_into_the_gru():
    """Teacher forcing with input feeding equals the equations run by hand, one step at a time:
    s_t = GRU(s_{t-1}, [e(y_{t-1}); o_{t-1}]), o_0 = 0, o_t = tanh(W_o [s_t; c_t]), logits W_v o_t."""
    src, src_len, tgt_in = toy_batch()
    net = model("additive, input feeding")
    dec = net.decoder
    with torch.no_grad():
        H, _, s, mask = net.encode(src, src_len)
        o, expected = torch.zeros(3, 12), []
        for t in range(tgt_in.shape[1]):
            x = torch.cat([dec.embedding(tgt_in[:, t]), o], dim=-1)
            s = dec.rnn(x[:, None], s)[1]                       # (1, B, h)
            context, _ = dec.attention(s.transpose(0, 1), H, mask)
            o = torch.tanh(dec.W_o(torch.cat([s[0], context[:, 0]], dim=-1)))
            expected.append(dec.head(o))
        assert torch.allclose(net(src, src_len, tgt_in), torch.stack(expected, 1), atol=1e-5)
    assert net.config["input_feeding"] is True and dec.rnn.input_size == 8 + 12


def test_input_feeding_needs_attention():
    with pytest.raises(ValueError, match="input feeding feeds back what attention read"):
        Seq2Seq(20, 15, 8, 12, None, input_feeding=True)


def test_loss_ignores_padding():
    logits = torch.randn(2, 3, 7)
    target = torch.tensor([[4, 5, PAD_IDX], [6, PAD_IDX, PAD_IDX]])
    changed = logits.clone()
    changed[0, 2] = 100.0
    changed[1, 1:] = -50.0
    assert torch.allclose(sequence_loss(logits, target), sequence_loss(changed, target))
    real = [(0, 0), (0, 1), (1, 0)]
    expected = sum(-torch.log_softmax(logits[b, t], -1)[target[b, t]] for b, t in real) / 3
    assert torch.allclose(sequence_loss(logits, target), expected)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_the_step_adapter_matches_teacher_forcing(attention):
    src, src_len, tgt_in = toy_batch()
    net = model(attention)
    full = torch.log_softmax(net(src, src_len, tgt_in), -1)
    step = Seq2SeqStep(net)
    state = step.begin_state(src, src_len)
    for t in range(tgt_in.shape[1]):
        log_probs, state = step(state, tgt_in[:, t])
        assert torch.allclose(log_probs, full[:, t], atol=1e-5)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_beam_width_one_equals_greedy(attention):
    src, src_len, _ = toy_batch(seed=3)
    net = model(attention, seed=3)
    greedy = translate_greedy(net, src, src_len, bos=BOS_IDX, eos=EOS_IDX, max_len=8)
    for b in range(3):
        ids = src[b, :src_len[b]].tolist()
        assert translate_beam(net, ids, bos=BOS_IDX, eos=EOS_IDX, max_len=8, beam_width=1) == greedy[b]
        assert len(translate_beam(net, ids, bos=BOS_IDX, eos=EOS_IDX, max_len=8, beam_width=3)) <= 8


def test_beam_search_finds_the_better_sequence_greedy_misses():
    """Tokens 0 = <eos>, 1 = a, 2 = b. Greedy takes "a" (0.5) and then nothing is likely (0.4 at best):
    P(a, x, <eos>) <= 0.5 * 0.4 = 0.2. Beam search keeps "b" (0.45), after which <eos> is sure: 0.45."""
    table = {(): [0.05, 0.5, 0.45], (1,): [0.4, 0.3, 0.3], (2,): [1.0, 0.0, 0.0]}

    def step(state, tokens):  # the state is the history read so far, (batch, t)
        state = torch.cat([state, tokens[:, None]], dim=1)
        rows = [table.get(tuple(p[1:]), [1.0, 0.0, 0.0]) for p in state.tolist()]
        return torch.log(torch.tensor(rows).clamp_min(1e-12)), state

    start = torch.zeros(1, 0, dtype=torch.long)
    greedy = decoding.greedy(step, start, [9], 3, eos=0).tokens[0].tolist()
    best = decoding.beam_search(step, start, [9], 3, beam_width=2, alpha=0.0, eos=0, batch_dim=0)[0]
    assert greedy[:2] == [1, 0] and best.tokens == [2, 0]
    assert math.isclose(best.log_prob, math.log(0.45), rel_tol=1e-6)


def test_pairs_are_shifted_for_teacher_forcing_and_padded():
    sv, tv = seq_vocab(["abc", "ab"]), seq_vocab(["xy", "x"])
    ds = PairDataset(["abc", "ab"], ["xy", "x"], sv, tv)
    src, src_len, tgt_in, tgt_out = ds.collate([ds[0], ds[1]])
    assert src_len.tolist() == [3, 2] and src[1, 2] == PAD_IDX
    assert tgt_in[:, 0].tolist() == [BOS_IDX, BOS_IDX]
    assert tgt_out.tolist() == [[tv["x"], tv["y"], EOS_IDX], [tv["x"], EOS_IDX, PAD_IDX]]
    assert tgt_in[0, 1:].tolist() == tgt_out[0, :-1].tolist()
    assert sum(len(b[1]) for b in make_loader(ds, 1, shuffle=True, seed=0)) == 2
    with pytest.raises(ValueError, match="parallel"):
        PairDataset(["a"], ["x", "y"], sv, tv)
    with pytest.raises(ValueError, match="empty"):
        PairDataset([""], ["x"], sv, tv)


def test_bleu_tokens_are_13a_lower_cased():
    assert bleu_tokens("A man's T-shirt, red.") == ["a", "man's", "t-shirt", ",", "red", "."]
    assert bleu_tokens("  Zwei Männer.\n") == ["zwei", "männer", "."]


def test_bleu_on_a_tiny_example_equals_the_formula_and_sacrebleu():
    import sacrebleu

    hyp, ref = "the cat sat on the mat today", "the cat sat on the red mat today"
    h, r = hyp.split(), ref.split()
    logs = []
    for n in range(1, 5):
        hn = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
        rn = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
        logs.append(math.log(sum((hn & rn).values()) / sum(hn.values())))
    by_hand = 100 * math.exp(1 - len(r) / len(h)) * math.exp(sum(logs) / 4)
    assert math.isclose(corpus_bleu([hyp], [ref]), by_hand, rel_tol=1e-9)
    assert math.isclose(corpus_bleu(["The Cat sat on the mat today"], [ref]), by_hand, rel_tol=1e-9)
    assert corpus_bleu(["The Cat"], [ref], lowercase=False) == sacrebleu.corpus_bleu(["The Cat"], [[ref]]).score
    assert "case:lc" in bleu_signature() and "tok:13a" in bleu_signature()
    with pytest.raises(ValueError, match="one output per sentence"):
        corpus_bleu(["a"], ["a", "b"])


def test_plot_attention_labels_both_axes():
    import matplotlib.pyplot as plt

    ax = plot_attention(torch.full((3, 4), 0.25), list("ab c"), ["1", "9", "<eos>"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "␣", "c"]
    with pytest.raises(ValueError, match="output"):
        plot_attention(torch.ones(2, 2), ["a"], ["b"])
    plt.close("all")


def test_multi30k_entries_pin_the_canonical_files():
    for part in ("train", "val", "test_2016_flickr"):
        for lang in ("de", "en"):
            ds = data.REGISTRY[f"multi30k-{part}.{lang}"]
            assert ds.file == f"multi30k/{part}.{lang}.gz" and ds.known_hash.startswith("sha256:")
            assert ds.url.endswith(f"/data/task1/raw/{part}.{lang}.gz")


def test_multi30k_corrupt_offline_copy_is_a_checksum_error(tmp_path, monkeypatch):
    (tmp_path / "multi30k").mkdir()
    (tmp_path / "multi30k" / "val.en.gz").write_bytes(gzip.compress(b"A dog runs.\n"))
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(data.ChecksumError, match="val.en.gz"):
        data.read_text("multi30k-val.en")


@needs_multi30k
def test_multi30k_offline_copies_read_and_verified(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    sizes = {"train": 29_000, "val": 1_014, "test_2016_flickr": 1_000}
    for split, n in sizes.items():
        de, en = load_multi30k(split)
        assert len(de) == len(en) == n
    assert not (tmp_path / "cache").exists()


def test_shuffled_batches_group_pairs_by_the_longer_side():
    """Sources of equal length, targets of 1 or 9 tokens: no shuffled batch mixes the two target lengths."""
    sources = ["ab"] * 40
    targets = ["x" if k % 2 else "xxxxxxxxx" for k in range(40)]
    ds = PairDataset(sources, targets, seq_vocab(sources), seq_vocab(targets))
    batches = list(make_loader(ds, 4, shuffle=True, seed=3))
    assert sum(len(b[1]) for b in batches) == 40
    for _, _, _, tgt_out in batches:
        assert len(set((tgt_out != PAD_IDX).sum(1).tolist())) == 1     # every target of the batch alike


def test_bad_inputs_at_the_translation_boundaries():
    """Issue 24: swapped vocabularies, a non-boolean lowercase flag, an attention of width 0."""
    de, en = ["ein Hund läuft schnell nach Hause ."] * 4, ["a dog runs home quickly ."] * 4
    de_vocab, en_vocab = seq_vocab([s.split() for s in de]), seq_vocab([s.split() for s in en])
    assert len(PairDataset([s.split() for s in de], [s.split() for s in en], de_vocab, en_vocab)) == 4
    with pytest.raises(ValueError, match="swapped"):
        PairDataset([s.split() for s in de], [s.split() for s in en], en_vocab, de_vocab)
    with pytest.raises(ValueError, match="lowercase"):
        corpus_bleu(["a dog ."], ["A dog."], lowercase="no")
    with pytest.raises(ValueError, match="num_hiddens"):
        DotProductAttention(3, 4, 0)
