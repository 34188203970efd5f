"""Tests of seqlib.sentiment (Day 5): tokens, vocabulary, split, padding, pooling, packing, models, bad inputs."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib import data
from seqlib import sentiment as S
from seqlib.checks.day05 import check_accuracy_from_logits, check_masked_pooling

MIRROR = os.environ.get("SEQLIB_DATA_DIR")


# --- tokeniser and vocabulary ---------------------------------------------------------------

def test_tokenize_splits_punctuation_and_clitics():
    assert S.tokenize("It doesn't work, it's DULL!") == ["it", "does", "n't", "work", ",", "it", "'s", "dull", "!"]
    assert S.tokenize("a too-tepid biopic .") == ["a", "too-tepid", "biopic", "."]
    assert S.tokenize("") == [] and S.tokenize("   \n") == []
    # MR's own spacing is kept: tokenising a tokenised sentence changes nothing
    mr = "simplistic , silly and tedious ."
    assert S.tokenize(mr) == mr.split()
    assert S.tokenize(" ".join(S.tokenize("Isn't it great? I'd say so."))) == S.tokenize("Isn't it great? I'd say so.")


def test_tokenize_rejects_non_strings():
    with pytest.raises(TypeError, match="string"):
        S.tokenize(["a", "list"])


def accuracy(logits, y):
    return ((logits > 0).float() == y).float().mean().item()


CORPUS = [["a", "good", "film"], ["a", "bad", "film"], ["good", "good", "fun"]]


def test_vocab_reserves_unk_and_pad_and_orders_by_frequency():
    v = S.build_vocab(CORPUS)
    assert (S.UNK_IDX, S.PAD_IDX) == (0, 1)
    assert v.idx_to_token[:2] == [S.UNK, S.PAD]
    # good (3), a (2), film (2), then bad, fun (1): ties in order of first appearance
    assert v.idx_to_token[2:] == ["good", "a", "film", "bad", "fun"]
    assert len(v) == 7
    assert v["good"] == 2 and v["never-seen"] == S.UNK_IDX


def test_vocab_min_freq_maps_rare_words_to_unk():
    v = S.build_vocab(CORPUS, min_freq=2)
    assert v.idx_to_token == [S.UNK, S.PAD, "good", "a", "film"]
    assert S.encode(v, ["a", "bad", "film"]) == [3, 0, 4]
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="min_freq"):
            S.build_vocab(CORPUS, min_freq=bad)
    with pytest.raises(TypeError, match="tokenised"):
        S.build_vocab("a good film")


def test_vocab_round_trip_unknown_and_padding():
    v = S.build_vocab(CORPUS)
    ids = S.encode(v, "A good film!")                 # "!" is unknown
    assert ids == [3, 2, 4, 0]
    assert S.decode(v, ids) == ["a", "good", "film", S.UNK]
    assert S.decode(v, ids[:3]) == S.tokenize("a good film")          # known words survive exactly
    assert S.decode(v, torch.tensor([3, 2, 1, 1])) == ["a", "good"]   # padding dropped, tensors accepted
    assert S.encode(v, "") == [] and S.encode(v, []) == []
    assert S.decode(v, S.encode(v, "qq zz")) == [S.UNK, S.UNK]        # an all-unknown sentence


@given(st.lists(st.sampled_from(["a", "good", "bad", "film", "fun", "zzz", "qq"]), max_size=12))
def test_vocab_round_trip_property(tokens):
    v = S.build_vocab(CORPUS)
    assert S.decode(v, S.encode(v, tokens)) == [t if t in v.token_to_idx else S.UNK for t in tokens]


def test_vocab_of_the_same_sentences_is_the_same():
    assert S.build_vocab(CORPUS).idx_to_token == S.build_vocab([list(t) for t in CORPUS]).idx_to_token
    assert S.build_vocab([]).idx_to_token == [S.UNK, S.PAD]


# --- the split --------------------------------------------------------------------------------

def test_stratified_split_is_disjoint_complete_stratified_and_seeded():
    labels = [1] * 533 + [0] * 467
    parts = S.stratified_split(labels, (0.8, 0.1, 0.1), seed=3)
    flat = [i for p in parts for i in p]
    assert sorted(flat) == list(range(1000))                      # complete and disjoint
    assert len(set(flat)) == len(flat)
    for p, f in zip(parts, (0.8, 0.1, 0.1)):
        pos = sum(labels[i] for i in p)
        assert abs(pos - f * 533) <= 1 and abs(len(p) - pos - f * 467) <= 1
    assert parts == S.stratified_split(labels, (0.8, 0.1, 0.1), seed=3)
    assert parts != S.stratified_split(labels, (0.8, 0.1, 0.1), seed=4)


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.5, 0.6, -0.1)])
def test_stratified_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="sum to 1"):
        S.stratified_split([0, 1] * 10, fractions)


# --- padding, masks, pooling ----------------------------------------------------------------

def batch_of(lengths, D=5, seed=0, garbage=9.0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    H = torch.randn(len(lengths), int(lengths.max()) + 2, D, generator=g) - 1.0
    mask = S.padding_mask(lengths, H.shape[1])
    return torch.where(mask.unsqueeze(-1), H, torch.full_like(H, garbage)), mask


def test_padding_mask():
    m = S.padding_mask(torch.tensor([3, 1, 0]), 4)
    assert m.dtype == torch.bool and m.tolist() == [[True, True, True, False],
                                                    [True, False, False, False],
                                                    [False, False, False, False]]
    assert S.padding_mask(torch.tensor([2, 3])).shape == (2, 3)


def test_collate_pads_on_the_right_and_rejects_empty_sentences():
    X, lengths, y = S.collate([(torch.tensor([5, 6, 7]), 1.0), (torch.tensor([8]), 0.0)])
    assert X.tolist() == [[5, 6, 7], [8, 1, 1]] and lengths.tolist() == [3, 1] and y.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="sentence 1 of the batch is empty"):
        S.collate([(torch.tensor([5]), 1.0), (torch.tensor([], dtype=torch.long), 0.0)])


@pytest.mark.parametrize("pool", [S.masked_mean, S.masked_max])
def test_pooling_ignores_padding_exactly(pool):
    H, mask = batch_of([4, 1, 6, 2])
    pooled = pool(H, mask)
    for b, n in enumerate([4, 1, 6, 2]):
        alone = pool(H[b:b + 1, :n], torch.ones(1, n, dtype=torch.bool))
        assert torch.equal(pooled[b:b + 1], alone) if pool is S.masked_max else torch.allclose(pooled[b:b + 1], alone, atol=1e-6)
    # the garbage in the padding never matters
    H2 = torch.where(mask.unsqueeze(-1), H, -H)
    assert torch.allclose(pool(H2, mask), pooled)


def test_masked_max_with_all_negative_states():
    H = -torch.ones(1, 3, 2) * torch.tensor([[[1.0], [2.0], [3.0]]])
    mask = torch.tensor([[True, True, False]])
    assert S.masked_max(H, mask).tolist() == [[-1.0, -1.0]]


def test_attention_pooling_weights_and_padding_invariance():
    torch.manual_seed(0)
    att = S.AttentionPooling(5, 7)
    H, mask = batch_of([3, 5, 1])
    c, a = att(H, mask)
    assert c.shape == (3, 5) and a.shape == mask.shape
    assert torch.all(a[~mask] == 0) and torch.allclose(a.sum(1), torch.ones(3))
    c1, a1 = att(H[:1, :3], mask[:1, :3])
    assert torch.allclose(c1, c[:1], atol=1e-6) and torch.allclose(a1, a[:1, :3], atol=1e-6)


# --- models: packing, padding invariance ----------------------------------------------------

def padded_batch(seqs):
    return S.collate([(torch.tensor(s), 0.0) for s in seqs])[:2]


SEQS = [[2, 3, 4, 5, 6], [7, 8], [9, 3, 2]]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_packing_gives_the_final_state_of_the_real_tokens(cell):
    torch.manual_seed(0)
    model = S.RNNClassifier(12, 4, 6, cell=cell, dropout=0.0).eval()
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
    model = S.RNNClassifier(12, 4, 6, cell=cell, bidirectional=bidirectional, pooling=pooling).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        logits = model(X, lengths)
        assert logits.shape == (3,)
        for b, s in enumerate(SEQS):
            alone = model(torch.tensor([s]), torch.tensor([len(s)]))
            assert torch.allclose(alone, logits[b:b + 1], atol=1e-5), (b, alone, logits[b])


def test_bidirectional_last_state_reads_both_ends():
    torch.manual_seed(0)
    model = S.RNNClassifier(12, 4, 3, cell="gru", bidirectional=True, dropout=0.0).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        H, h_n = model.encode(X, lengths)
    for b, n in enumerate(lengths.tolist()):
        assert torch.allclose(h_n[0, b], H[b, n - 1, :3], atol=1e-6)  # forward: after the last token
        assert torch.allclose(h_n[1, b], H[b, 0, 3:], atol=1e-6)      # backward: after the first


def test_classifier_rejects_bad_configuration_and_empty_sentences():
    with pytest.raises(ValueError, match="cell must be one of"):
        S.RNNClassifier(10, cell="transformer")
    with pytest.raises(ValueError, match="pooling must be one of"):
        S.RNNClassifier(10, pooling="sum")
    model = S.RNNClassifier(10, 4, 4)
    with pytest.raises(ValueError, match="at least one token"):
        model(torch.tensor([[2, 3], [1, 1]]), torch.tensor([2, 0]))


def test_classifier_learns_a_toy_task_with_bce_with_logits():
    torch.manual_seed(0)
    X = torch.randint(2, 10, (64, 6))
    y = (X == 2).any(1).float()
    model = S.RNNClassifier(10, 8, 8, cell="gru", pooling="max", dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    lengths = torch.full((64,), 6)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(X, lengths), y)
        loss.backward()
        opt.step()
    assert accuracy(model(X, lengths), y) > 0.95


def test_predict_proba_bad_inputs_have_documented_behaviour():
    vocab = S.build_vocab(CORPUS)
    torch.manual_seed(0)
    model = S.RNNClassifier(len(vocab), 4, 4, pooling="attention").train()
    with pytest.raises(ValueError, match="has no tokens"):
        S.predict_proba(model, vocab, ["a good film", "  "])
    out = S.predict_proba(model, vocab, ["qqq zzz", "a good film ."])
    assert out[0]["unknown"] == 1.0 and 0.0 < out[0]["p_positive"] < 1.0   # all unknown: a valid probability
    assert out[1]["unknown"] == 0.25 and out[1]["tokens"] == ["a", "good", "film", "."]
    assert len(out[1]["attention"]) == 4 and abs(sum(out[1]["attention"]) - 1) < 1e-6
    assert model.training                      # mode restored
    single = S.predict_proba(model, vocab, "a good film .")[0]
    assert abs(single["p_positive"] - out[1]["p_positive"]) < 1e-6   # the same alone and in a batch
    # all-unknown sentences of the same length are indistinguishable
    a, b = S.predict_proba(model, vocab, ["xx yy", "zz ww"])
    assert a["p_positive"] == b["p_positive"]


def test_loader_buckets_by_length_and_is_reproducible():
    vocab = S.build_vocab([["w"]])
    sents = ["w " * n for n in range(1, 41)]
    ds = S.SentenceDataset(sents, [n % 2 for n in range(40)], vocab, max_len=30)
    assert max(len(x) for x in ds.ids) == 30
    order = lambda seed: [lengths.tolist() for X, lengths, y in S.make_loader(ds, 8, shuffle=True, seed=seed)]
    first = order(0)
    assert sorted(n for b in first for n in b) == sorted(min(n, 30) for n in range(1, 41))
    assert first == order(0) and first != order(1)
    plain = [lengths.tolist() for X, lengths, y in S.make_loader(ds, 8)]
    assert plain[0] == [1, 2, 3, 4, 5, 6, 7, 8]
    with pytest.raises(ValueError, match="labels"):
        S.SentenceDataset(sents, [0], vocab)


# --- pretraining the encoder as a language model ---------------------------------------------

@pytest.mark.parametrize("bidirectional", [False, True])
def test_sentence_lm_predicts_each_neighbour_from_the_right_state(bidirectional):
    torch.manual_seed(0)
    h = 16   # the adaptive softmax's second tail projects to h / 4**2 = 1 dimension
    model = S.RNNClassifier(12, 4, h, cell="gru", bidirectional=bidirectional, pooling="attention", dropout=0.0)
    lm = S.SentenceLM(model, cutoffs=(4, 8)).eval()
    X, lengths = padded_batch(SEQS)
    with torch.no_grad():
        nll = lm.token_nll(X, lengths)
        H, _ = model.encode(X, lengths)
    dirs = 2 if bidirectional else 1
    assert nll.shape == (3, 5, dirs)
    for b, n in enumerate(lengths.tolist()):
        for t in range(5):
            # forward: the state after x_t predicts x_{t+1}
            expected = -lm.out[0].log_prob(H[b, t:t + 1, :h])[0, X[b, t + 1]] if t < n - 1 else 0.0
            assert torch.allclose(nll[b, t, 0], torch.as_tensor(expected), atol=1e-5), (b, t)
            if bidirectional:   # backward: the state that has read x_t ... x_n predicts x_{t-1}
                expected = -lm.out[1].log_prob(H[b, t:t + 1, h:])[0, X[b, t - 1]] if 0 < t < n else 0.0
                assert torch.allclose(nll[b, t, 1], torch.as_tensor(expected), atol=1e-5), (b, t)
    predictions = dirs * sum(n - 1 for n in lengths.tolist())
    assert torch.allclose(lm(X, lengths), nll.sum() / predictions)


def test_sentence_lm_never_sees_the_token_it_predicts():
    torch.manual_seed(0)
    lm = S.SentenceLM(S.RNNClassifier(12, 4, 6, cell="lstm", bidirectional=True, dropout=0.0)).eval()
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
    lm = S.SentenceLM(S.RNNClassifier(12, 4, 6, cell="gru", bidirectional=True)).eval()
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
    model = S.RNNClassifier(12, 8, 16, cell="gru", bidirectional=True, pooling="attention", dropout=0.0)
    lm = S.SentenceLM(model, cutoffs=(6,))
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
        S.SentenceLM(torch.nn.GRU(4, 4))
    lm = S.SentenceLM(S.RNNClassifier(30, 4, 4), cutoffs=(10, 2000))
    assert lm.out[0].cutoffs == [10, 30] and len(lm.out) == 1


# --- the bag-of-n-grams baseline ------------------------------------------------------------

def test_ngrams_and_bag_of_ngrams():
    assert S.ngrams(["not", "good", "not", "good"], 2) == ["not", "good", "not good", "good not"]
    nv = S.NgramVocab([["not", "good"], ["good", "fun"], ["good"]], n=2)
    assert nv.idx_to_gram[:2] == ["<unk>", "good"] and len(nv) == 6
    ids, offsets = nv.batch([["not", "good"], ["never", "seen"], ["good"]])
    assert offsets.tolist() == [0, 3, 3]                                  # unknown n-grams dropped
    model = S.BagOfNgrams(len(nv))
    with torch.no_grad():
        model.bag.weight[nv.gram_to_idx["not good"]] = -2.0
        model.bag.weight[nv.gram_to_idx["good"]] = 1.5
        model.bias.fill_(0.25)
    assert model(ids, offsets).tolist() == [-0.25, 0.25, 1.75]   # an empty bag gives the bias
    ids2, offsets2, y = nv.collate([(["not", "good"], 1), (["never", "seen"], 0), (["good"], 1)])
    assert torch.equal(ids2, ids) and torch.equal(offsets2, offsets) and y.tolist() == [1.0, 0.0, 1.0]


def test_nb_ratio_sign_follows_the_class():
    nv = S.NgramVocab([["great"], ["awful"]], n=1)
    ids, offsets = nv.batch([["great"], ["great"], ["awful"]])
    r = S.BagOfNgrams.nb_ratio(ids, offsets, torch.tensor([1.0, 1.0, 0.0]), len(nv))
    assert r[nv.gram_to_idx["great"]] > 0 > r[nv.gram_to_idx["awful"]]


# --- data: through seqlib.data (checksums, offline folder) ---------------------------------

def fake_mr(tmp_path, monkeypatch, pos: str, neg: str, encoding="utf-8", registered=None):
    """An offline folder in MR's layout (files in ``encoding``), with REGISTRY entries whose
    hashes fit the texts ``registered`` (default: the files' own texts)."""
    folder = tmp_path / "offline" / "rt-polaritydata"
    folder.mkdir(parents=True)
    (folder / "rt-polarity.pos").write_bytes(pos.encode(encoding))
    (folder / "rt-polarity.neg").write_bytes(neg.encode(encoding))
    registered = registered or {"pos": pos, "neg": neg}
    for name in ("pos", "neg"):
        old = data.REGISTRY[f"rt-polarity.{name}"]
        digest = hashlib.sha256(registered[name].encode("utf-8")).hexdigest()  # members: UTF-8 text
        monkeypatch.setitem(data.REGISTRY, f"rt-polarity.{name}",
                            data.Dataset(old.file, "http://127.0.0.1:9/none.tar.gz", f"sha256:{digest}",
                                         old.description, member=old.member))
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "offline"))
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))


def test_load_mr_reads_the_offline_folder_through_the_data_module(tmp_path, monkeypatch):
    fake_mr(tmp_path, monkeypatch, "a fine film .\nthe château is lovely .\n", "dull .\n\nawful , truly .\n",
            encoding="latin-1")
    sentences, labels = S.load_mr()
    assert sentences == ["a fine film .", "the château is lovely .", "dull .", "awful , truly ."]
    assert labels == [1, 1, 0, 0]
    assert not (tmp_path / "cache").exists()


def test_load_mr_refuses_a_corrupt_copy(tmp_path, monkeypatch):
    fake_mr(tmp_path, monkeypatch, "a fine film .\n", "dull .\n",
            registered={"pos": "a fine film .\n", "neg": "something else .\n"})
    with pytest.raises(data.ChecksumError, match="rt-polarity.neg"):
        S.load_mr()


def test_load_mr_without_data_or_network_explains_the_fix(tmp_path, monkeypatch):
    fake_mr(tmp_path, monkeypatch, "x\n", "y\n")
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(data.DataNotAvailableError, match="SEQLIB_DATA_DIR"):
        S.load_mr()


@pytest.mark.skipif(not MIRROR or not (Path(MIRROR) / "rt-polaritydata").is_dir(),
                    reason="set SEQLIB_DATA_DIR to the offline mirror (e.g. /work/shared/data)")
def test_real_mr(monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", MIRROR)
    sentences, labels = S.load_mr()
    assert len(sentences) == 10_662 and sum(labels) == 5_331
    train, val, test = S.stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
    assert (len(train), len(val), len(test)) == (8_530, 1_066, 1_066)
    assert sum(labels[i] for i in test) == 533


def imdb_archive(path: Path) -> bytes:
    """A tiny archive in the layout of aclImdb_v1.tar.gz; returns its bytes."""
    members = {
        "aclImdb/README": b"Large Movie Review Dataset v1.0",
        "aclImdb/imdb.vocab": b"the\nand\n",
        "aclImdb/train/pos/10_9.txt": b"Wonderful.<br /><br />A must-see!",
        "aclImdb/train/pos/2_10.txt": "A ch\u00e2teau of a film.".encode("utf-8"),
        "aclImdb/train/neg/0_1.txt": b"Dull<br/>and long.",
        "aclImdb/train/unsup/0_0.txt": b"no label",
        "aclImdb/train/urls_pos.txt": b"http://www.imdb.com/title/tt0000001/usercomments",
        "aclImdb/test/pos/0_8.txt": b"Great fun.",
        "aclImdb/test/neg/0_2.txt": b"Awful.",
        "aclImdb/test/neg/1_3.txt": b"Weak.",
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path.read_bytes()


def register_imdb(tmp_path, monkeypatch, raw: bytes):
    old = data.REGISTRY["aclImdb"]
    monkeypatch.setitem(data.REGISTRY, "aclImdb", data.Dataset(
        old.file, "http://127.0.0.1:9/aclImdb_v1.tar.gz", "md5:" + hashlib.md5(raw).hexdigest(), old.description))
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "offline"))
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))


def test_imdb_registry_entry_is_the_canonical_archive():
    ds = data.REGISTRY["aclImdb"]
    assert ds.url == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert ds.known_hash == "md5:7c2ac02c03563afcf9b574c7e56c153a" and ds.member is None


def test_load_imdb_reads_reviews_from_an_archive_in_imdb_layout(tmp_path, monkeypatch):
    (tmp_path / "offline").mkdir()
    raw = imdb_archive(tmp_path / "offline" / "aclImdb_v1.tar.gz")
    register_imdb(tmp_path, monkeypatch, raw)
    texts, labels = S.load_imdb("train")
    assert texts == ["Wonderful.  A must-see!", "A ch\u00e2teau of a film.", "Dull and long."]  # names sorted
    assert labels == [1, 1, 0]
    assert S.load_imdb("test") == (["Great fun.", "Awful.", "Weak."], [1, 0, 0])
    assert S.load_imdb("test", limit=1) == (["Great fun.", "Awful."], [1, 0])
    with pytest.raises(ValueError, match="split must be"):
        S.load_imdb("unsup")
    assert not (tmp_path / "cache").exists()


def test_load_imdb_refuses_a_corrupt_archive(tmp_path, monkeypatch):
    (tmp_path / "offline").mkdir()
    raw = imdb_archive(tmp_path / "offline" / "aclImdb_v1.tar.gz")
    register_imdb(tmp_path, monkeypatch, raw + b"tampered")
    with pytest.raises(data.ChecksumError, match="aclImdb_v1.tar.gz"):
        S.load_imdb()


# --- exercise checks ------------------------------------------------------------------------

def test_check_masked_pooling_feedback(capsys):
    assert check_masked_pooling(S.masked_mean, S.masked_max) is True
    assert "✅" in capsys.readouterr().out
    assert check_masked_pooling(lambda H, m: H.mean(1), S.masked_max) is False
    assert "number of real tokens" in capsys.readouterr().out
    zero_fill = lambda H, m: (H * m.unsqueeze(-1)).amax(1)
    assert check_masked_pooling(S.masked_mean, zero_fill) is False
    assert "-inf" in capsys.readouterr().out
    assert check_masked_pooling(lambda H, m: None, lambda H, m: 1 / 0) is False
    out = capsys.readouterr().out
    assert "forget `return`" in out and "ZeroDivisionError" in out


def test_check_accuracy_feedback(capsys):
    assert check_accuracy_from_logits(accuracy) is True
    assert check_accuracy_from_logits(lambda z, y: ((z > 0).float() == y).float().mean()) is True
    assert "✅" in capsys.readouterr().out
    assert check_accuracy_from_logits(lambda z, y: ((z > 0.5).float() == y).float().mean().item()) is False
    assert "logits, not probabilities" in capsys.readouterr().out
    assert check_accuracy_from_logits(lambda z, y: ((z > 0).float() == y).sum().item()) is False
    assert "divide by the batch size" in capsys.readouterr().out
    assert check_accuracy_from_logits(lambda z, y: None) is False
    assert check_accuracy_from_logits(lambda z, y: ((z > 0).float() == y).float()) is False
    assert "shape" in capsys.readouterr().out


# --- adversarial training ----------------------------------------------------------------------

def _adv_setup(seed=0):
    torch.manual_seed(seed)
    model = S.RNNClassifier(30, 8, 6, cell="gru", bidirectional=True, pooling="attention", dropout=0.0)
    X = torch.randint(2, 30, (4, 7))
    lengths = torch.tensor([7, 5, 3, 1])
    X[1, 5:], X[2, 3:], X[3, 1:] = S.PAD_IDX, S.PAD_IDX, S.PAD_IDX
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    return model, X, lengths, y


def test_adversarial_loss_is_clean_plus_perturbed_loss_with_r_of_norm_epsilon():
    model, X, lengths, y = _adv_setup()
    bce = torch.nn.BCEWithLogitsLoss()
    total = S.adversarial_loss(0.5)(model, (X, lengths), y)
    # the same by hand: gradient at the embedded sentence, normalised per sentence
    E = model.embedding(X).detach().requires_grad_()
    hook = model.embedding.register_forward_hook(lambda m, a, out: E)
    clean = bce(model(X, lengths), y)
    (g,) = torch.autograd.grad(clean, E)
    r = 0.5 * g / g.flatten(1).norm(dim=1)[:, None, None]
    hook.remove()
    hook = model.embedding.register_forward_hook(lambda m, a, out: out + r)
    perturbed = bce(model(X, lengths), y)
    hook.remove()
    assert torch.allclose(r.flatten(1).norm(dim=1), torch.full((4,), 0.5))
    assert torch.allclose(r[1, 5:], torch.zeros_like(r[1, 5:]))  # padding is not perturbed
    assert torch.allclose(total, clean + perturbed, atol=1e-6)
    assert perturbed > clean  # a step along the gradient increases the loss


def test_adversarial_loss_trains_with_fit_and_leaves_no_hooks():
    from seqlib.training import fit

    model, X, lengths, y = _adv_setup()
    loader = [(X, lengths, y)] * 4  # the layout of S.collate
    history = fit(model, loader, loss_fn=torch.nn.BCEWithLogitsLoss(),
                  optimizer=torch.optim.Adam(model.parameters(), lr=0.01), num_epochs=3,
                  train_loss=S.adversarial_loss(0.1), progress=False)
    assert history.train_loss[-1] < history.train_loss[0]
    assert not model.embedding._forward_hooks


def test_adversarial_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epsilon must be positive"):
        S.adversarial_loss(0.0)
    with pytest.raises(TypeError, match="model.embedding"):
        S.adversarial_loss(0.5)(torch.nn.Linear(3, 1), (torch.zeros(2, 3),), torch.zeros(2, 1))


def test_adversarial_loss_gradients_are_those_of_clean_plus_perturbed_loss():
    model, X, lengths, y = _adv_setup(seed=3)
    bce = torch.nn.BCEWithLogitsLoss()
    S.adversarial_loss(0.5)(model, (X, lengths), y).backward()
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    embedded = []  # the reference: autograd through both losses, r held constant
    hook = model.embedding.register_forward_hook(lambda m, a, out: embedded.append(out))
    clean = bce(model(X, lengths), y)
    hook.remove()
    (g,) = torch.autograd.grad(clean, embedded[0], retain_graph=True)
    r = (0.5 * g / g.flatten(1).norm(dim=1)[:, None, None]).detach()
    hook = model.embedding.register_forward_hook(lambda m, a, out: out + r)
    (clean + bce(model(X, lengths), y)).backward()
    hook.remove()
    for p, q in zip(ours, model.parameters()):
        assert torch.allclose(p, q.grad, atol=1e-6)
