"""seqlib.text: preprocessing, tokenization, the vocabulary (round trips, <unk>) and the corpus facts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlib.text import (Vocab, count_corpus, load_corpus_time_machine, ngrams, preprocess,
                         read_time_machine, tokenize, train_val_split)


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


def test_ngrams_and_split():
    assert ngrams("abcd", 2) == [("a", "b"), ("b", "c"), ("c", "d")]
    assert ngrams(["x"], 2) == []
    with pytest.raises(ValueError):
        ngrams("ab", 0)
    train, val = train_val_split(list(range(100)))
    assert train == list(range(90)) and val == list(range(90, 100))
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_val_split([1, 2, 3], 1.5)
