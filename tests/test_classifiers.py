"""seqlib.classifiers: attention pooling, packing, the RNN classifier, predict_proba, SentenceLM, bag of n-grams."""

from __future__ import annotations

import pytest
import torch

from conftest import batch_of
from seqlib.batching import collate, padding_mask
from seqlib.attention import AttentionPooling
from seqlib.baselines import BagOfNgrams, NgramFeatures
from seqlib.classifiers import RNNClassifier, SentenceLM, attention_html, predict_proba
from seqlib.text import Vocab, ngram_features

CORPUS = [["a", "good", "film"], ["a", "bad", "film"], ["good", "good", "fun"]]


def accuracy(logits, y):
    return ((logits > 0).float() == y).float().mean().item()


# --- attention pooling ------------------------------------------------------------------------

def test_attention_pooling_weights_and_padding_invariance():
    torch.manual_seed(0)
    att = AttentionPooling(5, 7)
    H, mask = batch_of([3, 5, 1])
    c, a = att(H, mask)
    assert c.shape == (3, 5) and a.shape == mask.shape
    assert torch.all(a[~mask] == 0) and torch.allclose(a.sum(1), torch.ones(3))
    c1, a1 = att(H[:1, :3], mask[:1, :3])
    assert torch.allclose(c1, c[:1], atol=1e-6) and torch.allclose(a1, a[:1, :3], atol=1e-6)


def padded_batch(seqs):
    return collate([(torch.tensor(s), 0.0) for s in seqs])[:2]


SEQS = [[2, 3, 4, 5, 6], [7, 8], [9, 3, 2]]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_packing_gives_the_final_state_of_the_real_tokens(cell):
    torch.manual_seed(0)
    model = RNNClassifier(12, 4, 6, cell=cell, dropout=0.0).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        H, h_n = model.encode(X, lengths)               # packed
        model.pack = False
        H_pad, h_n_pad = model.encode(X, lengths)       # runs over the padding
    for b, n in enumerate(lengths.tolist()):
        # packed: h_n is the state after the last real token, the same as without packing at t = n - 1
        assert torch.allclose(h_n[-1, b], H_pad[b, n - 1], atol=1e-6)
        assert torch.allclose(H[b, :n], H_pad[b, :n], atol=1e-6)
        assert torch.all(H[b, n:] == 0)
    # without packing the padded sentences' final state has read the padding: it differs
    assert not torch.allclose(h_n_pad[-1, 1], h_n[-1, 1], atol=1e-4)
    assert torch.allclose(h_n_pad[-1, 0], h_n[-1, 0], atol=1e-6)   # the longest one has no padding


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_classifier_gives_the_same_logit_alone_and_padded_in_a_batch(cell, bidirectional, pooling):
    torch.manual_seed(1)
    model = RNNClassifier(12, 4, 6, cell=cell, bidirectional=bidirectional, pooling=pooling).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        logits = model(X, lengths)
        assert logits.shape == (3,)
        for b, s in enumerate(SEQS):
            alone = model(torch.tensor([s]), torch.tensor([len(s)]))
            assert torch.allclose(alone, logits[b:b + 1], atol=1e-5), (b, alone, logits[b])


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_a_pooling_function_runs_in_place_of_its_name(pooling):
    """A lab's own masked mean or max (a function of H and the mask) gives the named pooling's logits."""
    def mean_pool(H, mask):
        m = mask.unsqueeze(-1).float()
        return (H * m).sum(1) / m.sum(1)

    def max_pool(H, mask):
        return H.masked_fill(~mask.unsqueeze(-1), -torch.inf).max(1).values

    torch.manual_seed(2)
    named = RNNClassifier(12, 4, 6, cell="gru", bidirectional=True, pooling=pooling).eval()
    given = RNNClassifier(12, 4, 6, cell="gru", bidirectional=True,
                          pooling={"mean": mean_pool, "max": max_pool}[pooling]).eval()
    given.load_state_dict(named.state_dict())
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        assert torch.allclose(given(X, lengths), named(X, lengths), atol=1e-6)


def test_bidirectional_last_state_reads_both_ends():
    torch.manual_seed(0)
    model = RNNClassifier(12, 4, 3, cell="gru", bidirectional=True, dropout=0.0).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        H, h_n = model.encode(X, lengths)
    for b, n in enumerate(lengths.tolist()):
        assert torch.allclose(h_n[0, b], H[b, n - 1, :3], atol=1e-6)  # forward: after the last token
        assert torch.allclose(h_n[1, b], H[b, 0, 3:], atol=1e-6)      # backward: after the first


def test_classifier_rejects_bad_configuration_and_empty_sentences():
    with pytest.raises(ValueError, match="cell must be one of"):
        RNNClassifier(10, cell="transformer")
    with pytest.raises(ValueError, match="pooling must be one of"):
        RNNClassifier(10, pooling="sum")
    model = RNNClassifier(10, 4, 4)
    with pytest.raises(ValueError, match="at least one token"):
        model(torch.tensor([[2, 3], [1, 1]]), torch.tensor([2, 0]))


def test_classifier_learns_a_toy_task_with_bce_with_logits():
    torch.manual_seed(0)
    X = torch.randint(2, 10, (64, 6))
    y = (X == 2).any(1).float()
    model = RNNClassifier(10, 8, 8, cell="gru", pooling="max", dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    lengths = torch.full((64,), 6)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(X, lengths), y)
        loss.backward()
        opt.step()
    assert accuracy(model(X, lengths), y) > 0.95


def test_predict_proba_bad_inputs_have_documented_behaviour():
    vocab = Vocab.for_sentences(CORPUS)
    torch.manual_seed(0)
    model = RNNClassifier(len(vocab), 4, 4, pooling="attention").train()
    with pytest.raises(ValueError, match="has no tokens"):
        predict_proba(model, vocab, ["a good film", "  "])
    out = predict_proba(model, vocab, ["qqq zzz", "a good film ."])
    assert out[0]["unknown"] == 1.0 and 0.0 < out[0]["p_positive"] < 1.0   # all unknown: a valid probability
    assert out[1]["unknown"] == 0.25 and out[1]["tokens"] == ["a", "good", "film", "."]
    assert len(out[1]["attention"]) == 4 and abs(sum(out[1]["attention"]) - 1) < 1e-6
    assert model.training                      # mode restored
    single = predict_proba(model, vocab, "a good film .")[0]
    assert abs(single["p_positive"] - out[1]["p_positive"]) < 1e-6   # the same alone and in a batch
    # all-unknown sentences of the same length are indistinguishable
    a, b = predict_proba(model, vocab, ["xx yy", "zz ww"])
    assert a["p_positive"] == b["p_positive"]


# --- pretraining the encoder as a language model ---------------------------------------------

@pytest.mark.parametrize("bidirectional", [False, True])
def test_sentence_lm_predicts_each_neighbour_from_the_right_state(bidirectional):
    torch.manual_seed(0)
    h = 16   # the adaptive softmax's second tail projects to h / 4**2 = 1 dimension
    model = RNNClassifier(12, 4, h, cell="gru", bidirectional=bidirectional, pooling="attention", dropout=0.0)
    lm = SentenceLM(model, cutoffs=(4, 8)).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        nll = lm.token_nll(X, lengths)
        H, _ = model.encode(X, lengths)
    dirs = 2 if bidirectional else 1
    assert nll.shape == (3, 5, dirs)
    for b, n in enumerate(lengths.tolist()):
        for t in range(5):
            # forward: the state after x_t predicts x_{t+1}
            expected = -lm.head[0].log_prob(H[b, t:t + 1, :h])[0, X[b, t + 1]] if t < n - 1 else 0.0
            assert torch.allclose(nll[b, t, 0], torch.as_tensor(expected), atol=1e-5), (b, t)
            if bidirectional:   # backward: the state that has read x_t ... x_n predicts x_{t-1}
                expected = -lm.head[1].log_prob(H[b, t:t + 1, h:])[0, X[b, t - 1]] if 0 < t < n else 0.0
                assert torch.allclose(nll[b, t, 1], torch.as_tensor(expected), atol=1e-5), (b, t)
    predictions = dirs * sum(n - 1 for n in lengths.tolist())
    assert torch.allclose(lm(X, lengths), nll.sum() / predictions)


def test_sentence_lm_never_sees_the_token_it_predicts():
    torch.manual_seed(0)
    lm = SentenceLM(RNNClassifier(12, 4, 6, cell="lstm", bidirectional=True, dropout=0.0)).eval()
    X = torch.tensor([[2, 3, 4, 5, 6, 7, 8]])
    lengths = torch.tensor([7])
    k = 3
    X2 = X.clone()
    X2[0, k] = 11                                    # change one token
    with torch.no_grad():
        a, b = lm.token_nll(X, lengths), lm.token_nll(X2, lengths)
    changed = (a - b).abs() > 1e-6
    # forward predictions of x_1 .. x_{k-1} come from states that have not read x_k
    assert not changed[0, :k - 1, 0].any() and changed[0, k - 1, 0]
    # backward predictions of x_{k+1} ... come from states that have read x_n ... x_{k+2} only
    assert not changed[0, k + 2:, 1].any() and changed[0, k + 1, 1]


def test_sentence_lm_is_the_same_alone_and_in_a_batch_and_handles_one_token_sentences():
    torch.manual_seed(0)
    lm = SentenceLM(RNNClassifier(12, 4, 6, cell="gru", bidirectional=True)).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        nll = lm.token_nll(X, lengths)
        for b, s in enumerate(SEQS):
            alone = lm.token_nll(torch.tensor([s]), torch.tensor([len(s)]))
            assert torch.allclose(alone[0], nll[b, :len(s)], atol=1e-5)
            assert torch.all(nll[b, len(s):] == 0)
    loss = lm.train()(torch.tensor([[5], [7]]), torch.tensor([1, 1]))   # nothing to predict
    assert loss.item() == 0.0
    loss.backward()                                                    # still a valid graph


def test_sentence_lm_pretraining_with_fit_trains_the_shared_encoder_only():
    from seqlib.training import fit

    torch.manual_seed(0)
    # a deterministic language: each sentence counts up from a random start, 2 -> 3 -> ... -> 11
    starts = torch.randint(2, 6, (96,)).tolist()
    seqs = [list(range(s, s + 6)) for s in starts]
    loader = [(*padded_batch(seqs[i:i + 32]), torch.zeros(32)) for i in range(0, 96, 32)]
    model = RNNClassifier(12, 8, 16, cell="gru", bidirectional=True, pooling="attention", dropout=0.0)
    lm = SentenceLM(model, cutoffs=(6,))
    assert lm.classifier is model and lm.classifier.rnn is model.rnn        # shared, not copied
    head_before = model.head.weight.detach().clone()
    rnn_before = model.rnn.weight_ih_l0.detach().clone()
    before = lm(*loader[0][:2]).item()
    history = fit(lm, loader, loss_fn=lambda nll, y: nll, optimizer=torch.optim.Adam(lm.parameters(), lr=0.02),
                  num_epochs=40, progress=False)
    assert before > 2.0 and history.train_loss[-1] < 0.3               # from about log(12) to near certainty
    assert not torch.equal(model.rnn.weight_ih_l0, rnn_before)         # the classifier's encoder learned
    assert torch.equal(model.head.weight, head_before)                 # its head did not take part


def test_sentence_lm_rejects_other_models_and_drops_cutoffs_beyond_the_vocabulary():
    with pytest.raises(TypeError, match="RNNClassifier"):
        SentenceLM(torch.nn.GRU(4, 4))
    lm = SentenceLM(RNNClassifier(30, 4, 4), cutoffs=(10, 2000))
    assert lm.head[0].cutoffs == [10, 30] and len(lm.head) == 1


# --- the bag-of-n-grams baseline ------------------------------------------------------------

def test_ngrams_and_bag_of_ngrams():
    assert ngram_features(["not", "good", "not", "good"], 2) == ["not", "good", "not good", "good not"]
    nv = NgramFeatures([["not", "good"], ["good", "fun"], ["good"]], n=2)
    assert nv.vocab.idx_to_token[:2] == ["<unk>", "good"] and len(nv) == 6
    ids, offsets = nv.batch([["not", "good"], ["never", "seen"], ["good"]])
    assert offsets.tolist() == [0, 3, 3]                                  # unknown n-grams dropped
    model = BagOfNgrams(len(nv))
    with torch.no_grad():
        model.bag.weight[nv.vocab.token_to_idx["not good"]] = -2.0
        model.bag.weight[nv.vocab.token_to_idx["good"]] = 1.5
        model.bias.fill_(0.25)
    assert model(ids, offsets).tolist() == [-0.25, 0.25, 1.75]   # an empty bag gives the bias
    ids2, offsets2, y = nv.collate([(["not", "good"], 1), (["never", "seen"], 0), (["good"], 1)])
    assert torch.equal(ids2, ids) and torch.equal(offsets2, offsets) and y.tolist() == [1.0, 0.0, 1.0]


def test_ngram_features_encode_each_sentence_once_and_hand_out_copies():
    nv = NgramFeatures([["not", "good"], ["good", "fun"]], n=2)
    first = nv.encode(["not", "good"])
    first.append(99)                                   # the caller's list, not the remembered one
    assert nv.encode(["not", "good"]) == nv.encode(("not", "good")) == first[:-1]
    assert len(nv._encoded) == 1                       # a list and a tuple of the same tokens: one entry
    with pytest.raises(TypeError):
        nv.encode("not good")                          # a string is not a token list, cached or not


def test_nb_ratio_sign_follows_the_class():
    nv = NgramFeatures([["great"], ["awful"]], n=1)
    ids, offsets = nv.batch([["great"], ["great"], ["awful"]])
    r = BagOfNgrams.nb_ratio(ids, offsets, torch.tensor([1.0, 1.0, 0.0]), len(nv))
    assert r[nv.vocab.token_to_idx["great"]] > 0 > r[nv.vocab.token_to_idx["awful"]]


def test_attention_html_shows_the_verdict_the_weights_and_escapes_tokens():
    vocab = Vocab.for_sentences(CORPUS)
    torch.manual_seed(0)
    model = RNNClassifier(len(vocab), 4, 4, pooling="attention")
    result = predict_proba(model, vocab, ["a <b>good</b> film"])[0]
    page = attention_html(result)
    assert f"P(positive) = {result['p_positive']:.2f}" in page and "unknown words" in page
    assert "&lt;" in page and "<b>good" not in page                      # tokens are escaped
    assert page.count("<span") == len(result["tokens"])
    plain = attention_html({"tokens": ["ok"], "p_positive": 0.25, "unknown": 0.0, "attention": None})
    assert "negative" in plain and "unknown" not in plain and "rgba(255, 140, 0, 0.00)" in plain


# --- issue 13: bad input gets a clear error ---------------------------------------------------

def test_classifier_rejects_lengths_that_do_not_match_the_batch():
    """Issue 13 item 7: lengths shorter than the batch gave fewer logits than sentences, silently."""
    model = RNNClassifier(20, 8, 8)
    X = torch.randint(2, 20, (4, 6))
    with pytest.raises(ValueError, match=r"lengths must have shape \(batch_size,\) \[batch_size=4\].*\(2,\)"):
        model(X, torch.tensor([6, 5]))
    with pytest.raises(ValueError, match=r"lengths must be at most num_steps=6.*got 7"):
        model(X, torch.tensor([6, 5, 7, 1]))
    with pytest.raises(ValueError, match=r"X must have shape \(batch_size, num_steps\)"):
        model(X[0], torch.tensor([6]))
    with pytest.raises(TypeError, match=r"X must be an integer tensor"):
        model(X.float(), torch.tensor([6, 5, 4, 1]))
    assert model(X, [6, 5, 4, 1]).shape == (4,)   # a list of lengths is fine
    lm = SentenceLM(model)
    with pytest.raises(ValueError, match=r"lengths must have shape \(batch_size,\)"):
        lm(X, torch.tensor([6, 5]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(vocab_size=0), r"vocab_size must be a positive integer"),
    (dict(vocab_size=10, num_hiddens=-1), r"num_hiddens must be a positive integer"),
    (dict(vocab_size=10, embed_size=0), r"embed_size must be a positive integer"),
    (dict(vocab_size=10, num_layers=0), r"num_layers must be a positive integer"),
    (dict(vocab_size=10, dropout=1.5), r"dropout must be in \[0, 1\]"),
    (dict(vocab_size=10, word_dropout=-0.1), r"word_dropout must be in \[0, 1\]"),
    (dict(vocab_size=10, pad_idx=10), r"pad_idx must be in \[0, 9\]"),
])
def test_classifier_constructor_checks_its_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RNNClassifier(**kwargs)


def test_attention_pooling_and_bag_of_ngrams_check_their_inputs():
    with pytest.raises(ValueError, match=r"num_inputs must be a positive integer"):
        AttentionPooling(0)
    with pytest.raises(ValueError, match=r"num_features must be a positive integer"):
        BagOfNgrams(0)
    with pytest.raises(ValueError, match=r"scale must have shape \(num_features,\)"):
        BagOfNgrams(4, scale=torch.ones(3))
    nv = NgramFeatures([["a", "b"]], n=2)
    with pytest.raises(ValueError, match=r"tokenized is empty"):
        nv.batch([])
