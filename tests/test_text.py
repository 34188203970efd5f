"""seqlib.text: preprocessing, both tokenizers, the one vocabulary (round trips, <unk>, <pad>), n-grams,
the splits, the corpus facts and the readers (Time Machine, MR, IMDb)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqlib import data
from seqlib.text import (PAD, PAD_IDX, UNK, UNK_IDX, Vocab, count_corpus, load_corpus_time_machine, load_imdb,
                         load_mr, ngram_features, ngram_tuples, preprocess, read_time_machine, stratified_split,
                         tokenize, tokenize_sentence, train_val_split)

MIRROR = os.environ.get("SEQLIB_DATA_DIR")


@pytest.fixture(scope="module")
def time_machine():
    from seqlib.data import DataNotAvailableError

    try:
        return read_time_machine()
    except DataNotAvailableError as err:  # offline and no SEQLIB_DATA_DIR
        pytest.skip(f"Time Machine not available: {err}")


def test_preprocess_keeps_letters_only_lower_case_single_spaces():
    assert preprocess("  The Time-Machine, by H.G. Wells!! ") == "the time machine by h g wells"
    assert preprocess("1895 -- ") == ""


def test_time_machine_facts_of_the_classic_api(time_machine):
    assert len(time_machine) == 3221
    assert sum(map(len, time_machine)) == 170_580
    assert time_machine[0] == "the time machine by h g wells"
    corpus, vocab = load_corpus_time_machine()
    assert len(corpus) == 170_580 and len(vocab) == 28
    assert vocab.idx_to_token[:4] == ["<unk>", " ", "e", "t"]
    assert sorted(vocab.idx_to_token[1:]) == [" "] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    assert "".join(vocab.to_tokens(corpus[:16])) == "the time machine"
    assert len(load_corpus_time_machine(max_tokens=10_000)[0]) == 10_000


def test_word_vocabulary_of_the_book(time_machine):
    vocab = Vocab(tokenize(time_machine, "word"))
    assert len(vocab) == 4580
    assert vocab.token_freqs[:3] == [("the", 2261), ("i", 1267), ("and", 1245)]


def test_tokenize_words_and_chars_and_errors():
    assert tokenize(["the time", ""], "word") == [["the", "time"], []]
    assert tokenize(["ab c"], "char") == [["a", "b", " ", "c"]]
    with pytest.raises(ValueError, match="token='word' or token='char'"):
        tokenize(["x"], "byte")
    with pytest.raises(TypeError, match="list of lines"):
        tokenize("the time", "char")


def test_vocab_orders_by_frequency_ties_by_first_appearance_and_reserves_unk():
    vocab = Vocab([["b", "a", "c", "a", "c", "d"]], reserved_tokens=["<pad>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "a", "c", "b", "d"]
    assert vocab.unk == 0 and vocab["zzz"] == 0 and vocab[["a", "zzz"]] == [2, 0]
    assert len(vocab) == 6


def test_vocab_min_freq_maps_rare_tokens_to_unk():
    vocab = Vocab(["a", "a", "b"], min_freq=2)
    assert vocab.idx_to_token == ["<unk>", "a"]
    assert vocab["b"] == vocab.unk


@given(st.lists(st.text(alphabet="abcde ", min_size=0, max_size=3), max_size=40))
def test_vocab_round_trips(tokens):
    vocab = Vocab(tokens)
    assert vocab.to_tokens(vocab[tokens]) == tokens
    assert all(vocab.token_to_idx[t] == i for i, t in enumerate(vocab.idx_to_token))
    assert len(vocab) == 1 + len(set(tokens) - {"<unk>"})
    assert dict(vocab.token_freqs) == dict(count_corpus(tokens))


def test_vocab_to_tokens_accepts_tensors():
    import torch

    vocab = Vocab(list("abca"))
    assert vocab.to_tokens(torch.tensor([1, 2])) == ["a", "b"]
    assert vocab.to_tokens(torch.tensor(1)) == "a"


def test_ngram_tuples_and_split():
    assert ngram_tuples("abcd", 2) == [("a", "b"), ("b", "c"), ("c", "d")]
    assert ngram_tuples(["x"], 2) == []
    with pytest.raises(ValueError):
        ngram_tuples("ab", 0)
    train, val = train_val_split(list(range(100)))
    assert train == list(range(90)) and val == list(range(90, 100))
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\)"):
        train_val_split([1, 2, 3], 1.5)

def test_ngram_features_are_distinct_one_to_n_grams_in_first_seen_order():
    assert ngram_features(["not", "good", "not", "good"], 2) == ["not", "good", "not good", "good not"]
    assert ngram_features(["a", "b", "c"], 3) == ["a", "b", "c", "a b", "b c", "a b c"]
    assert ngram_features([], 2) == []


# --- sentences (Day 5): tokenizer and vocabulary ----------------------------------------------

def test_tokenize_splits_punctuation_and_clitics():
    assert tokenize_sentence("It doesn't work, it's DULL!") == ["it", "does", "n't", "work", ",", "it", "'s", "dull", "!"]
    assert tokenize_sentence("a too-tepid biopic .") == ["a", "too-tepid", "biopic", "."]
    assert tokenize_sentence("") == [] and tokenize_sentence("   \n") == []
    # MR's own spacing is kept: tokenising a tokenised sentence changes nothing
    mr = "simplistic , silly and tedious ."
    assert tokenize_sentence(mr) == mr.split()
    assert tokenize_sentence(" ".join(tokenize_sentence("Isn't it great? I'd say so."))) == tokenize_sentence("Isn't it great? I'd say so.")


@pytest.mark.parametrize("text, tokens", [
    ("clichés", ["clichés"]),
    ("a naïve , déjà-vu affair .", ["a", "naïve", ",", "déjà-vu", "affair", "."]),
    ("Schütte's FAÇADE", ["schütte", "'s", "façade"]),
    ("the château's garçon isn't bad", ["the", "château", "'s", "garçon", "is", "n't", "bad"]),
    ("½ a film", ["½", "a", "film"]),
])
def test_tokenize_keeps_accented_words_whole(text, tokens):
    """Issue 13 item 6: "clichés" used to become "clich", "é", "s"."""
    assert tokenize_sentence(text) == tokens


def test_tokenize_rejects_non_strings():
    with pytest.raises(TypeError, match="string"):
        tokenize_sentence(["a", "list"])


CORPUS = [["a", "good", "film"], ["a", "bad", "film"], ["good", "good", "fun"]]


def test_vocab_reserves_unk_and_pad_and_orders_by_frequency():
    v = Vocab.for_sentences(CORPUS)
    assert (UNK_IDX, PAD_IDX) == (0, 1)
    assert v.idx_to_token[:2] == [UNK, PAD]
    # good (3), a (2), film (2), then bad, fun (1): ties in order of first appearance
    assert v.idx_to_token[2:] == ["good", "a", "film", "bad", "fun"]
    assert len(v) == 7
    assert v["good"] == 2 and v["never-seen"] == UNK_IDX


def test_vocab_min_freq_maps_rare_words_to_unk():
    v = Vocab.for_sentences(CORPUS, min_freq=2)
    assert v.idx_to_token == [UNK, PAD, "good", "a", "film"]
    assert v.encode(["a", "bad", "film"]) == [3, 0, 4]
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="min_freq"):
            Vocab.for_sentences(CORPUS, min_freq=bad)
    with pytest.raises(TypeError, match="tokenised"):
        Vocab.for_sentences("a good film")


def test_vocab_round_trip_unknown_and_padding():
    v = Vocab.for_sentences(CORPUS)
    ids = v.encode("A good film!")                 # "!" is unknown
    assert ids == [3, 2, 4, 0]
    assert v.decode(ids) == ["a", "good", "film", UNK]
    assert v.decode(ids[:3]) == tokenize_sentence("a good film")          # known words survive exactly
    assert v.decode(torch.tensor([3, 2, 1, 1])) == ["a", "good"]   # padding dropped, tensors accepted
    assert v.encode("") == [] and v.encode([]) == []
    assert v.decode(v.encode("qq zz")) == [UNK, UNK]        # an all-unknown sentence


@given(st.lists(st.sampled_from(["a", "good", "bad", "film", "fun", "zzz", "qq"]), max_size=12))
def test_vocab_round_trip_property(tokens):
    v = Vocab.for_sentences(CORPUS)
    assert v.decode(v.encode(tokens)) == [t if t in v.token_to_idx else UNK for t in tokens]


def test_vocab_of_the_same_sentences_is_the_same():
    assert Vocab.for_sentences(CORPUS).idx_to_token == Vocab.for_sentences([list(t) for t in CORPUS]).idx_to_token
    assert Vocab.for_sentences([]).idx_to_token == [UNK, PAD]




def _old_build_vocab(tokenized, min_freq=1):
    """The Day 5 vocabulary as the old ``seqlib.sentiment.build_vocab`` built it (before the one Vocab)."""
    from collections import Counter
    counts = Counter(t for toks in tokenized for t in toks)
    kept = [t for t, c in sorted(counts.items(), key=lambda x: x[1], reverse=True) if c >= min_freq]
    return ["<unk>", "<pad>", *[t for t in kept if t not in ("<unk>", "<pad>")]]


def _old_ngram_vocab(tokenized, n=2, min_freq=1):
    """The feature table of the old ``seqlib.sentiment.NgramVocab``: sorted by (-count, n-gram)."""
    from collections import Counter
    counts = Counter(g for toks in tokenized for g in ngram_features(toks, n))
    return ["<unk>", *sorted((g for g, c in counts.items() if c >= min_freq), key=lambda g: (-counts[g], g))]


SENTENCES = ["It doesn't work, it's DULL!", "a good film , a good cast .", "not good , not bad",
             "the film is good", "dull , dull , dull", "a bad film", "fun !", "good fun and a good film"]


@pytest.mark.parametrize("min_freq", [1, 2, 3])
def test_the_one_vocab_gives_the_indices_the_old_vocabularies_gave(min_freq):
    """Merging build_vocab and NgramVocab into Vocab must not move a single index (the results depend on them)."""
    tokenized = [tokenize_sentence(s) for s in SENTENCES]
    v = Vocab.for_sentences(tokenized, min_freq=min_freq)
    assert v.idx_to_token == _old_build_vocab(tokenized, min_freq)
    assert v.token_to_idx == {t: i for i, t in enumerate(_old_build_vocab(tokenized, min_freq))}
    assert v.encode(SENTENCES[0]) == [v.token_to_idx.get(t, 0) for t in tokenize_sentence(SENTENCES[0])]
    grams = Vocab([ngram_features(t, 2) for t in tokenized], min_freq=min_freq, ties="alphabetical")
    assert grams.idx_to_token == _old_ngram_vocab(tokenized, 2, min_freq)
    # pinned: what the old seqlib.sentiment.build_vocab and NgramVocab gave on these sentences
    if min_freq == 3:
        assert v.idx_to_token == ["<unk>", "<pad>", "good", ",", "dull", "a", "film"]
    if min_freq == 2:
        assert grams.idx_to_token == ["<unk>", ",", "film", "good", "a", "!", "a good", "bad", "dull", "fun",
                                      "good film"]


def test_vocab_ties_must_be_known():
    with pytest.raises(ValueError, match="ties"):
        Vocab([["a"]], ties="random")


def test_decode_keeps_every_token_of_a_vocabulary_without_padding():
    v = Vocab(list("abca"))                 # index 1 is a real token here, not <pad>
    assert v.decode([1, 2, 0]) == ["a", "b", "<unk>"]


# --- the split --------------------------------------------------------------------------------

def test_stratified_split_is_disjoint_complete_stratified_and_seeded():
    labels = [1] * 533 + [0] * 467
    parts = stratified_split(labels, (0.8, 0.1, 0.1), seed=3)
    flat = [i for p in parts for i in p]
    assert sorted(flat) == list(range(1000))                      # complete and disjoint
    assert len(set(flat)) == len(flat)
    for p, f in zip(parts, (0.8, 0.1, 0.1)):
        pos = sum(labels[i] for i in p)
        assert abs(pos - f * 533) <= 1 and abs(len(p) - pos - f * 467) <= 1
    assert parts == stratified_split(labels, (0.8, 0.1, 0.1), seed=3)
    assert parts != stratified_split(labels, (0.8, 0.1, 0.1), seed=4)


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.5, 0.6, -0.1)])
def test_stratified_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split([0, 1] * 10, fractions)


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
    sentences, labels = load_mr()
    assert sentences == ["a fine film .", "the château is lovely .", "dull .", "awful , truly ."]
    assert labels == [1, 1, 0, 0]
    assert not (tmp_path / "cache").exists()


def test_load_mr_refuses_a_corrupt_copy(tmp_path, monkeypatch):
    fake_mr(tmp_path, monkeypatch, "a fine film .\n", "dull .\n",
            registered={"pos": "a fine film .\n", "neg": "something else .\n"})
    with pytest.raises(data.ChecksumError, match="rt-polarity.neg"):
        load_mr()


def test_load_mr_without_data_or_network_explains_the_fix(tmp_path, monkeypatch):
    fake_mr(tmp_path, monkeypatch, "x\n", "y\n")
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(data.DataNotAvailableError, match="SEQLIB_DATA_DIR"):
        load_mr()


@pytest.mark.skipif(not MIRROR or not (Path(MIRROR) / "rt-polaritydata").is_dir(),
                    reason="set SEQLIB_DATA_DIR to the offline mirror (e.g. /work/shared/data)")
def test_real_mr(monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", MIRROR)
    sentences, labels = load_mr()
    assert len(sentences) == 10_662 and sum(labels) == 5_331
    train, val, test = stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
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
    texts, labels = load_imdb("train")
    assert texts == ["Wonderful.  A must-see!", "A ch\u00e2teau of a film.", "Dull and long."]  # names sorted
    assert labels == [1, 1, 0]
    assert load_imdb("test") == (["Great fun.", "Awful.", "Weak."], [1, 0, 0])
    assert load_imdb("test", limit=1) == (["Great fun.", "Awful."], [1, 0])
    with pytest.raises(ValueError, match="split must be"):
        load_imdb("unsup")
    assert not (tmp_path / "cache").exists()


def test_load_imdb_refuses_a_corrupt_archive(tmp_path, monkeypatch):
    (tmp_path / "offline").mkdir()
    raw = imdb_archive(tmp_path / "offline" / "aclImdb_v1.tar.gz")
    register_imdb(tmp_path, monkeypatch, raw + b"tampered")
    with pytest.raises(data.ChecksumError, match="aclImdb_v1.tar.gz"):
        load_imdb()


# --- bad input (issue 13): clear errors naming the argument, never a silent answer ----------------

def test_bad_inputs_get_errors_naming_the_argument():
    v = Vocab.for_sentences(CORPUS)
    with pytest.raises(ValueError, match="indices"):
        v.to_tokens(-1)                       # not the last token, as a Python list index would give
    with pytest.raises(ValueError, match="indices"):
        v.to_tokens(torch.tensor([2, -1]))
    with pytest.raises(ValueError, match="indices"):
        v.to_tokens([2, len(v)])
    assert v.to_tokens([]) == [] and v.to_tokens([2, 3]) == ["good", "a"] and v.to_tokens(2) == "good"
    with pytest.raises(TypeError, match="sentence"):
        v.encode(b"a good film")              # bytes used to give [0, 0, 0, 0]
    for bad in (-1, float("nan"), 1.5):
        with pytest.raises(ValueError, match="min_freq"):
            Vocab([["a"]], min_freq=bad)
    with pytest.raises(TypeError, match="lines"):
        tokenize(None)
    with pytest.raises(TypeError, match="tokens"):
        count_corpus(None)
    with pytest.raises(TypeError, match="tokenized"):
        Vocab.for_sentences(["a good film"])  # sentences, not token lists
    assert Vocab.for_sentences(t for t in CORPUS).idx_to_token == Vocab.for_sentences(CORPUS).idx_to_token
    with pytest.raises(TypeError, match="labels"):
        stratified_split(None)                # used to give [[0], [], []]
    with pytest.raises(ValueError, match="labels"):
        stratified_split([])
    with pytest.raises(ValueError, match="seed"):
        stratified_split([0, 1], seed=-1)
    for n in (0, -3):
        with pytest.raises(ValueError, match="n must be"):
            ngram_features(["a", "b"], n)     # used to give []
    with pytest.raises(TypeError, match="n must be"):
        ngram_tuples("abc", 2.5)
    with pytest.raises(TypeError, match="corpus"):
        train_val_split(None)
    with pytest.raises(TypeError, match="max_tokens"):
        load_corpus_time_machine(max_tokens=2.5)


def test_vocab_from_tokens_restores_the_same_indices_and_refuses_bad_lists():
    from seqlib.text import Vocab

    vocab = Vocab(list("hello world"), reserved_tokens=["<pad>"])
    back = Vocab.from_tokens(vocab.idx_to_token, vocab.token_freqs)
    assert back.idx_to_token == vocab.idx_to_token and back.token_to_idx == vocab.token_to_idx
    assert back.token_freqs == vocab.token_freqs and back[list("low")] == vocab[list("low")]
    with pytest.raises(ValueError, match="start with '<unk>'"):
        Vocab.from_tokens(["a", "<unk>"])
    with pytest.raises(ValueError, match=r"more than once: \['a'\]"):
        Vocab.from_tokens(["<unk>", "a", "b", "a"])
