"""seqlib.entities (Day 8 part B): the two-column BIO reader, spans against seqeval, invalid transitions,
the gazetteer baseline and the BIO tag set through the tagger's dataset."""

import os
import random
from pathlib import Path

import pytest

from seqlib import data
from seqlib.baselines import Gazetteer
from seqlib.entities import WNUT17_TAGS, WNUT17_TYPES, bio_spans, invalid_transitions, load_wnut17, read_bio
from seqlib.tagging import TaggedDataset
from seqlib.text import Vocab
from seqlib.treebank import tag_ids

MIRROR = os.environ.get("SEQLIB_DATA_DIR", "")
HAVE_WNUT = bool(MIRROR) and (Path(MIRROR) / "wnut17" / "wnut17train.conll").is_file()


def test_reader_splits_on_blank_and_whitespace_only_lines():
    text = "Empire\tB-location\nState\tI-location\n\t\n@me\tO\nhi\tO\n\n\nESB\tB-location\n"
    bank = read_bio(text)
    assert bank == [(["Empire", "State"], ["B-location", "I-location"]), (["@me", "hi"], ["O", "O"]),
                    (["ESB"], ["B-location"])]
    assert bank.num_words == 5


@pytest.mark.parametrize("line", ["word O", "word\tPERSON", "\tO", "a\tb\tO", "word\tB-"])
def test_reader_names_the_bad_line(line):
    with pytest.raises(ValueError, match="line 2"):
        read_bio(f"fine\tO\n{line}\n")


def test_tag_set_and_tag_ids():
    assert len(WNUT17_TAGS) == 1 + 2 * len(WNUT17_TYPES) == 13 and WNUT17_TAGS[0] == "O"
    assert tag_ids(["O", "B-corporation", "I-product"], WNUT17_TAGS) == [0, 1, 12]
    assert tag_ids(["DET", "NOUN"]) == [5, 7]                      # UPOS stays the default
    with pytest.raises(ValueError, match="B-PER"):
        tag_ids(["B-PER"], WNUT17_TAGS)


def test_dataset_encodes_bio_tags():
    sentences = [(["Empire", "State", "rocks"], ["B-location", "I-location", "O"])]
    words = Vocab.for_sentences([w for w, _ in sentences])
    dataset = TaggedDataset(sentences, words, tagset=WNUT17_TAGS)
    _, lengths, _, _, Y = dataset.collate(dataset.items)
    assert Y.tolist() == [[7, 8, 0]] and lengths.tolist() == [3]


@pytest.mark.parametrize("tags, spans", [
    (["B-PER", "I-PER", "O"], [("PER", 0, 2)]),
    (["O", "I-PER"], [("PER", 1, 2)]),                              # invalid: read as a beginning
    (["B-PER", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),            # invalid: type changes
    (["I-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
    (["O", "O"], []),
])
def test_spans_follow_conlleval_and_agree_with_seqeval(tags, spans):
    from seqeval.metrics.sequence_labeling import get_entities

    assert bio_spans(tags) == spans
    assert [(k, s, e + 1) for k, s, e in get_entities(tags)] == spans


def test_spans_agree_with_seqeval_on_random_sequences_and_strict_mode_drops_invalid_beginnings():
    from seqeval.metrics.sequence_labeling import get_entities
    from seqeval.scheme import IOB2, Entities

    rng = random.Random(0)
    tagset = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for _ in range(2000):
        tags = [rng.choice(tagset) for _ in range(rng.randint(1, 8))]
        ours = bio_spans(tags)
        assert ours == [(k, s, e + 1) for k, s, e in get_entities(tags)], tags
        strict = {(e.tag, e.start, e.end) for e in Entities([tags], IOB2).entities[0]}
        assert strict <= set(ours)
        if not invalid_transitions(tags):          # valid sequences: both readings agree
            assert strict == set(ours), tags


def test_f1_of_seqeval_is_the_f1_of_our_spans():
    from seqeval.metrics import f1_score

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    pred = [["B-PER", "I-PER", "O", "I-LOC"], ["B-ORG", "O"]]
    g = {(i, *s) for i, t in enumerate(gold) for s in bio_spans(t)}
    p = {(i, *s) for i, t in enumerate(pred) for s in bio_spans(t)}
    precision, recall = len(g & p) / len(p), len(g & p) / len(g)
    assert f1_score(gold, pred) == pytest.approx(2 * precision * recall / (precision + recall))


def test_invalid_transitions():
    assert invalid_transitions(["O", "I-person", "B-group", "I-person"]) == [1, 3]
    assert invalid_transitions(["I-person"]) == [0]                 # a sentence's start counts as O
    assert invalid_transitions(["B-person", "I-person", "I-person", "O", "B-group", "I-group"]) == []
    with pytest.raises(ValueError, match="O, B-type or I-type"):
        invalid_transitions(["PERSON"])


def test_gazetteer_takes_the_longest_known_entity_and_its_most_frequent_type():
    train = [(["New", "York", "City", "is", "big"], ["B-location", "I-location", "I-location", "O", "O"]),
             (["New", "York", "again"], ["B-location", "I-location", "O"]),
             (["Apple", "and", "apple"], ["B-corporation", "O", "B-product"]),
             (["Apple", "rocks"], ["B-corporation", "O"])]
    g = Gazetteer().fit(train)
    assert g.tag(["I", "love", "New", "York", "City", "and", "New", "York"]) == \
        ["O", "O", "B-location", "I-location", "I-location", "O", "B-location", "I-location"]
    assert g.tag(["Apple", "apple", "APPLE"]) == ["B-corporation", "B-product", "O"]
    assert Gazetteer(ignore_case=True).fit(train).tag(["APPLE"]) == ["B-corporation"]
    with pytest.raises(RuntimeError, match="fit"):
        Gazetteer().tag(["x"])


@pytest.mark.skipif(not HAVE_WNUT, reason="set SEQLIB_DATA_DIR to the offline mirror to read WNUT 2017")
def test_real_wnut17_splits_match_the_data_readme(monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", MIRROR)
    expected = {"train": (3394, 1975), "dev": (1009, 836), "test": (1287, 1079)}
    for split, (sentences, entities) in expected.items():
        bank = load_wnut17(split)
        assert len(bank) == sentences
        assert sum(len(bio_spans(tags)) for _, tags in bank) == entities
        assert not any(invalid_transitions(tags) for _, tags in bank)
        assert {t for _, tags in bank for t in tags} <= set(WNUT17_TAGS)
    assert data.fetch("wnut17-test").name == "emerging.test.annotated"


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split"):
        load_wnut17("validation")
