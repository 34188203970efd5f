"""seqlib.tagging: CoNLL-U reading, vocabularies and padding, both directions respecting lengths, taggers, baselines,
and the data loader's checksum and offline paths for the UD files."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from seqlib import data
from seqlib.batching import bidirectional_states, padding_mask, reverse_padded
from seqlib.baselines import MostFrequentTag, perceptron_tagger
from seqlib.batching import make_loader
from seqlib.tagging import EOW, PAD_TAG, TaggedDataset, Tagger, char_vocab, predict_tags, spell, tag_sentence
from seqlib.treebank import UPOS, accuracy, load_treebank, read_conllu, tag_ids, tokenize_words
from seqlib.text import PAD_IDX, UNK_IDX, Vocab
from seqlib.page import num_params

TINY = """# sent_id = 1
# text = The page's dog barks.
1\tThe\tthe\tDET\t_\t_\t3\tdet\t_\t_
2-3\tpage's\t_\t_\t_\t_\t_\t_\t_\t_
2\tpage\tpage\tNOUN\t_\t_\t4\tnmod:poss\t_\t_
3\t's\t's\tPART\t_\t_\t2\tcase\t_\t_
4\tdog\tdog\tNOUN\t_\t_\t5\tnsubj\t_\t_
4.1\tbarks\tbark\tVERB\t_\t_\t_\t_\t0:root\t_
5\tbarks\tbark\tVERB\t_\t_\t0\troot\t_\t_
6\t.\t.\tPUNCT\t_\t_\t5\tpunct\t_\t_

# sent_id = 2
# text = Run!
1\tRun\trun\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No
2\t!\t!\tPUNCT\t_\t_\t1\tpunct\t_\t_

"""

SENTENCES = [(["The", "dog", "barks", "."], ["DET", "NOUN", "VERB", "PUNCT"]),
             (["Dogs", "bark"], ["NOUN", "VERB"]),
             (["The", "cat", "sleeps", "."], ["DET", "NOUN", "VERB", "PUNCT"])]

MIRROR = os.environ.get("SEQLIB_DATA_DIR", "")
HAVE_UD = bool(MIRROR) and (Path(MIRROR) / "ud-english-lines" / "en_lines-ud-test.conllu").is_file()


def test_read_conllu_keeps_words_and_upos_and_skips_ranges_and_empty_nodes():
    bank = read_conllu(TINY)
    assert len(bank) == 2 and bank.num_words == 8
    assert bank[0] == (["The", "page", "'s", "dog", "barks", "."], ["DET", "NOUN", "PART", "NOUN", "VERB", "PUNCT"])
    assert bank[1] == (["Run", "!"], ["VERB", "PUNCT"])
    assert bank.multiword_tokens == 1 and bank.empty_nodes == 1
    with pytest.raises(TypeError, match="CoNLL-U text"):
        read_conllu(None)


def test_tag_ids_are_the_17_universal_tags():
    assert len(UPOS) == 17 and list(UPOS) == sorted(UPOS)
    assert tag_ids(["DET", "NOUN", "X"]) == [5, 7, 16]
    with pytest.raises(ValueError, match="universal part-of-speech tag"):
        tag_ids(["NN"])


def test_vocabularies_and_padding():
    words = Vocab.for_sentences([w for w, _ in SENTENCES])
    chars = char_vocab(SENTENCES)
    assert words["<unk>"] == UNK_IDX and words["<pad>"] == PAD_IDX and words["cheetah"] == UNK_IDX
    assert spell("cat") == ["<w>", "c", "a", "t", "</w>"] and chars[EOW] > PAD_IDX
    ds = TaggedDataset(SENTENCES, words, chars)
    X, lengths, C, C_index, Y = ds.collate([ds[0], ds[1]])
    assert lengths.tolist() == [4, 2] and X.shape == Y.shape == C_index.shape == (2, 4)
    assert (X[1, 2:] == PAD_IDX).all() and (Y[1, 2:] == PAD_TAG).all()
    assert Y[0].tolist() == tag_ids(SENTENCES[0][1])
    # each word's row of C spells it, every distinct form once
    for b, (sentence, _) in enumerate(SENTENCES[:2]):
        for t, w in enumerate(sentence):
            row = C[C_index[b, t]]
            assert chars.to_tokens(row[row != PAD_IDX].tolist()) == spell(w)
    assert C.shape[0] == len({w for s, _ in SENTENCES[:2] for w in s})
    # without a character vocabulary: a placeholder
    words_only = TaggedDataset(SENTENCES, words)
    X2, _, C2, C_index2, _ = words_only.collate([words_only[0]])
    assert X2.tolist() == X[:1].tolist() and C2.shape == (1, 1) and not C_index2.any()
    with pytest.raises(ValueError, match="empty"):
        ds.collate([])


def test_reverse_padded_reverses_real_tokens_only_and_is_its_own_inverse():
    X = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0], [6, 0, 0, 0]])
    lengths = torch.tensor([3, 2, 1])
    assert reverse_padded(X, lengths).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0], [6, 0, 0, 0]]
    H = torch.randn(3, 4, 5)
    assert torch.equal(reverse_padded(reverse_padded(H, lengths), lengths), H)


def test_bidirectional_states_match_torch_bidirectional_lstm_and_respect_lengths():
    torch.manual_seed(0)
    bi = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    fwd, bwd = nn.LSTM(3, 4, batch_first=True), nn.LSTM(3, 4, batch_first=True)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        getattr(fwd, name).data.copy_(getattr(bi, name))
        getattr(bwd, name).data.copy_(getattr(bi, name + "_reverse"))
    lengths = torch.tensor([5, 2, 3])
    E = torch.randn(3, 5, 3)
    mask = padding_mask(lengths, 5)
    E = torch.where(mask.unsqueeze(-1), E, torch.full_like(E, 9.0))       # garbage in the padding
    H = bidirectional_states(fwd, bwd, E, lengths)
    packed = nn.utils.rnn.pack_padded_sequence(E, lengths, batch_first=True, enforce_sorted=False)
    ref = nn.utils.rnn.pad_packed_sequence(bi(packed)[0], batch_first=True, total_length=5)[0]
    assert torch.allclose(H, ref, atol=1e-6)
    assert (H[~mask] == 0).all()
    for b, L in enumerate(lengths.tolist()):                                # alone = in the batch
        alone = bidirectional_states(fwd, bwd, E[b:b + 1, :L], lengths[b:b + 1])
        assert torch.allclose(alone[0], H[b, :L], atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_tagger_layers_equal_torch_lstm_over_a_packed_batch(bidirectional):
    """Two stacked layers of one-way LSTMs on the padded batch = nn.LSTM(num_layers=2) on the packed batch."""
    torch.manual_seed(0)
    model = Tagger(9, embed_size=3, num_hiddens=4, num_layers=2, bidirectional=bidirectional, dropout=0.0).eval()
    ref = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional)
    for layer in range(2):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(model.forward_rnns[layer], name + "_l0").data.copy_(getattr(ref, f"{name}_l{layer}"))
            if bidirectional:
                getattr(model.backward_rnns[layer], name + "_l0").data.copy_(getattr(ref, f"{name}_l{layer}_reverse"))
    assert num_params(ref) == sum(num_params(m) for m in (model.forward_rnns, model.backward_rnns) if m is not None)
    X = torch.tensor([[2, 3, 4, 5, 6], [7, 8, 1, 1, 1], [3, 3, 3, 1, 1]])
    lengths = torch.tensor([5, 2, 3])
    H = model.encode(X, lengths)
    packed = nn.utils.rnn.pack_padded_sequence(model.embedding(X), lengths, batch_first=True, enforce_sorted=False)
    expected = nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=5)[0]
    assert torch.allclose(H, expected, atol=1e-6)


def _batch(models_chars=True):
    words = Vocab.for_sentences([w for w, _ in SENTENCES])
    chars = char_vocab(SENTENCES) if models_chars else None
    ds = TaggedDataset(SENTENCES, words, chars)
    return words, chars, ds


@pytest.mark.parametrize("kwargs", [dict(bidirectional=False), dict(), dict(num_layers=2),
                                    dict(chars=True), dict(chars=True, crf=True)],
                         ids=["uni", "bi", "bi2", "char", "char-crf"])
def test_a_sentence_alone_and_padded_in_a_batch_gets_the_same_emissions(kwargs):
    kwargs = dict(kwargs)
    use_chars = kwargs.pop("chars", False)
    words, chars, ds = _batch()
    torch.manual_seed(0)
    model = Tagger(len(words), embed_size=8, num_hiddens=6, char_vocab_size=len(chars) if use_chars else None,
                   char_embed_size=4, char_filters=5, **kwargs).eval()
    if not use_chars:
        ds = TaggedDataset(SENTENCES, words)
    X, lengths, C, C_index, Y = ds.collate(list(ds))
    emissions = model(X, lengths, C, C_index)
    assert emissions.shape == (3, 4, len(UPOS))
    for b in range(3):
        alone = model(*ds.collate([ds[b]])[:4])
        assert torch.allclose(alone[0], emissions[b, :int(lengths[b])], atol=1e-6)
    mask = padding_mask(lengths, 4)
    tags = model.decode(emissions, mask)
    assert (tags[~mask] == -1).all() and tags[mask].min() >= 0


@pytest.mark.parametrize("crf", [False, True])
def test_a_tagger_learns_a_tiny_training_set(crf):
    words, chars, ds = _batch()
    torch.manual_seed(0)
    model = Tagger(len(words), embed_size=8, num_hiddens=8, char_vocab_size=len(chars), char_embed_size=4,
                   char_filters=4, dropout=0.0, crf=crf)
    loader = make_loader(ds, batch_size=3)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    batch = next(iter(loader))
    first = model.loss(*batch).item()
    for _ in range(60):
        opt.zero_grad()
        model.loss(*batch).backward()
        opt.step()
    assert model.loss(*batch).item() < first / 5
    gold, pred = predict_tags(model, loader)
    assert gold == [tag_ids(t) for _, t in SENTENCES] and accuracy(gold, pred) == 1.0
    result = tag_sentence(model, words, chars, ["The", "cheetah", "sleeps"])
    assert [r["word"] for r in result] == ["The", "cheetah", "sleeps"]
    assert [r["known"] for r in result] == [True, False, True]
    assert all(0 < r["p"] <= 1 and r["tag"] in UPOS for r in result)
    assert all((r["crf"] in UPOS) if crf else r["crf"] is None for r in result)


def test_accuracy_with_a_selection():
    gold, pred = [[1, 2, 3], [4]], [[1, 0, 3], [0]]
    assert accuracy(gold, pred) == 0.5
    assert accuracy(gold, pred, [[True, True, False], [False]]) == 0.5
    with pytest.raises(ValueError, match="do not line up"):
        accuracy(gold, [[1]])


def test_most_frequent_tag_and_its_unknown_word_rules():
    train = [(["the", "run", "run", "a"], ["DET", "NOUN", "VERB", "DET"]),
             (["run", "walking"], ["VERB", "VERB"])]
    mft = MostFrequentTag().fit(train)
    assert mft.tag(["run", "the", "zebra"]) == ["VERB", "DET", "VERB"]   # unseen: the most frequent tag
    suffix = MostFrequentTag("suffix").fit(train)
    assert suffix.tag(["talking", "Paris", "3.5"]) == ["VERB", "PROPN", "NUM"]
    with pytest.raises(ValueError, match="unknown"):
        MostFrequentTag("nearest")


def test_perceptron_tagger_trains_offline_and_is_reproducible():
    train = SENTENCES * 5
    a, b = perceptron_tagger(train, nr_iter=3, seed=1), perceptron_tagger(train, nr_iter=3, seed=1)
    words = ["The", "dog", "sleeps", "."]
    assert [t for _, t in a.tag(words)] == [t for _, t in b.tag(words)] == ["DET", "NOUN", "VERB", "PUNCT"]


def test_tokenize_words_splits_like_ud_english():
    assert tokenize_words("The dog doesn't bark, it's 3.5 km away!") == \
        ["The", "dog", "does", "n't", "bark", ",", "it", "'s", "3.5", "km", "away", "!"]


# ---- the data: checksums, offline folder, and the published counts --------------------------------

@pytest.fixture
def no_network_entry(tmp_path, monkeypatch):
    """The real registry entry of the test split with a dead canonical address and a fresh cache."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    ds = dataclasses.replace(data.REGISTRY["ud-english-lines-test"], url=f"http://127.0.0.1:{port}/test.conllu")
    monkeypatch.setitem(data.REGISTRY, "ud-english-lines-test", ds)
    return ds


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_registry_entries_pin_the_r2_17_files_by_sha256(split):
    ds = data.REGISTRY[f"ud-english-lines-{split}"]
    assert ds.file == f"ud-english-lines/en_lines-ud-{split}.conllu"
    assert ds.url.endswith(f"UD_English-LinES/r2.17/en_lines-ud-{split}.conllu")
    assert ds.known_hash.startswith("sha256:") and len(ds.known_hash) == 7 + 64


def test_a_corrupt_offline_copy_is_a_checksum_error(tmp_path, monkeypatch, no_network_entry):
    offline = tmp_path / "offline" / "ud-english-lines"
    offline.mkdir(parents=True)
    (offline / "en_lines-ud-test.conllu").write_text(TINY)
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "offline"))
    with pytest.raises(data.ChecksumError, match="does not match its checksum"):
        load_treebank("test")


def test_without_a_copy_or_network_the_error_says_how_to_fix_it(tmp_path, monkeypatch, no_network_entry):
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(data.DataNotAvailableError, match="SEQLIB_DATA_DIR"):
        load_treebank("test")


@pytest.mark.skipif(not HAVE_UD, reason="set SEQLIB_DATA_DIR to the offline mirror to read the real treebank")
def test_the_real_treebank_has_the_published_counts():
    counts = {split: load_treebank(split) for split in ("train", "dev", "test")}
    assert [len(b) for b in counts.values()] == [3457, 1118, 1121]
    assert [b.num_words for b in counts.values()] == [64684, 21637, 19984]
    assert {t for _, tags in counts["train"] for t in tags} == set(UPOS)
    with pytest.raises(ValueError, match="split"):
        load_treebank("validation")


def test_bad_inputs_at_the_tagging_boundaries():
    """Issue 24: metrics and baselines refuse what does not line up; the Tagger refuses dropout=1."""
    with pytest.raises(ValueError, match="do not line up"):
        accuracy([[1, 2], [3]], [[1], [2, 3]])
    with pytest.raises(ValueError, match="tag ids"):
        accuracy([[5, 7]], [["DET", "NOUN"]])
    with pytest.raises(RuntimeError, match="fit"):
        MostFrequentTag().tag(["dog"])
    with pytest.raises(TypeError, match="words"):
        MostFrequentTag().fit([(["the", "dog"], ["DET", "NOUN"])]).tag("The dog")
    with pytest.raises(ValueError, match="dropout"):
        Tagger(9, dropout=1.0)
    with pytest.raises(ValueError, match="UPOS"):
        read_conllu("1\tRun\n2\t!\n\n")  # no UPOS column


def test_tagger_needs_unk_and_pad_in_its_vocabulary():
    with pytest.raises(ValueError, match="vocab_size must be at least 2"):
        Tagger(1)


def test_a_character_tagger_asks_for_its_characters():
    sentences = [(["the", "dog"], ["DET", "NOUN"])]
    words, chars = Vocab.for_sentences([w for w, _ in sentences]), char_vocab(sentences)
    model = Tagger(len(words), char_vocab_size=len(chars), embed_size=4, num_hiddens=3, char_filters=2)
    X, lengths = torch.tensor([[2, 3]]), torch.tensor([2])
    with pytest.raises(ValueError, match="this tagger reads characters: pass C and C_index"):
        model(X, lengths)
    with pytest.raises(ValueError, match="this tagger reads characters: pass chars"):
        tag_sentence(model, words, None, ["the", "dog"])
    tagged = tag_sentence(model, words, chars, ["the", "dog"])
    assert all(0.0 < t["p"] <= 1.0 for t in tagged)


def test_a_tagger_runs_both_directions_through_both_ways():
    """Day 8 re-tags the test set with the student's bidirectional: Tagger.encode must call both_ways, and
    the course's bidirectional_states is the default."""
    torch.manual_seed(0)
    model = Tagger(10, embed_size=4, num_hiddens=3, num_layers=2).eval()
    X, lengths = torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2])
    assert model.both_ways is bidirectional_states
    before = model(X, lengths)
    calls = []

    def spy(forward_rnn, backward_rnn, E, lengths):
        calls.append(E.shape)
        return torch.zeros(E.shape[0], E.shape[1], 6)

    model.both_ways = spy
    after = model(X, lengths)
    assert len(calls) == 2 and not torch.allclose(before, after)  # one call per layer, its states used
