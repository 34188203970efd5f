r"""Universal Dependencies treebanks (Day 8): CoNLL-U files, UPOS tag ids, words as UD splits them, accuracy.

::

    CoNLL-U text --read_conllu--> Treebank: [(words, tags), ...]   (multi-word ranges, empty nodes skipped)
    tags --tag_ids--> 0..16 (UPOS, alphabetical)
    a typed sentence --tokenize_words--> words as UD English splits them ("does n't")
    accuracy(gold, pred[, select]) --> share of words tagged right (all, or e.g. the unseen ones)

The taggers are in :mod:`seqlib.tagging`, the counting baselines in :mod:`seqlib.baselines`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from seqlib import validation

__all__ = ["UPOS", "Treebank", "read_conllu", "load_treebank", "tag_ids", "check_sentences", "tokenize_words",
           "accuracy"]

#: The 17 universal part-of-speech tags of Universal Dependencies (v2), alphabetical: the tag ids.
UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X")
_TAG_ID = {tag: i for i, tag in enumerate(UPOS)}


class Treebank(list):
    """Tagged sentences ``[(words, tags), ...]`` (a list), with what was skipped while reading them."""
    multiword_tokens = 0     # ranges such as "15-16 page's" (their words are kept)
    empty_nodes = 0          # enhanced-dependency nodes such as "8.1"

    @property
    def num_words(self) -> int:
        return sum(len(words) for words, _ in self)


def read_conllu(text: str) -> Treebank:
    """The word forms and UPOS tags of every sentence of a CoNLL-U text (parsed by the ``conllu`` package).

    Only syntactic words are kept (integer ids): a multi-word token's range line (``15-16 page's``,
    whose words ``page`` and ``'s`` follow on their own lines) and empty nodes (``8.1``) are skipped
    and counted. A sentence without words is dropped.
    """
    import conllu

    validation.sequence(text, "text", strings=True, what="the CoNLL-U text as a string")
    bank = Treebank()
    for sentence in conllu.parse(text, fields=("id", "form", "lemma", "upos")):  # the columns read: half the time
        words, tags = [], []
        for token in sentence:
            if isinstance(token["id"], int):
                words.append(token["form"])
                tags.append(token["upos"])
            elif isinstance(token["id"], tuple) and token["id"][1] == "-":
                bank.multiword_tokens += 1
            else:
                bank.empty_nodes += 1
        if words:
            bank.append((words, tags))
    validation.require(all(None not in tags for _, tags in bank), "a CoNLL-U word has no UPOS tag (column 4)")
    return bank


def load_treebank(split: str, name: str = "ud-english-lines") -> Treebank:
    """One split (``"train"``, ``"dev"``, ``"test"``) of a treebank in :mod:`seqlib.data` (checksum verified)."""
    from seqlib.data import read_text

    validation.one_of(split, "split", ("train", "dev", "test"))
    return read_conllu(read_text(f"{name}-{split}"))


def tag_ids(tags: Sequence[str], tagset: Sequence[str] = UPOS) -> list[int]:
    """Tags -> their positions in ``tagset`` (:data:`UPOS`: ``["DET", "NOUN"]`` -> ``[5, 7]``; or e.g.
    :data:`seqlib.entities.WNUT17_TAGS`); a tag outside the tag set is an error."""
    validation.sequence(tags, "tags", of=str, what="a list of tags (strings)")
    ids, hint = (_TAG_ID, "a universal part-of-speech tag") if tagset is UPOS else \
        ({t: i for i, t in enumerate(tagset)}, "a tag of the tag set")
    return [ids[validation.one_of(t, "tag", ids, hint=hint)] for t in tags]


def check_sentences(sentences, name: str = "sentences") -> list:
    """``sentences`` as a list of ``(words, tags)`` pairs of equal-length lists of strings, or a clear error."""
    validation.sequence(sentences, name, of=(tuple, list), non_empty=True, what="a list of (words, tags) pairs")
    for k, pair in enumerate(sentences):
        ok = len(pair) == 2 and all(isinstance(p, (list, tuple)) and all(isinstance(x, str) for x in p) for p in pair)
        validation.require(ok and len(pair[0]) == len(pair[1]), f"{name}[{k}] is not (words, tags) of one length", TypeError)
    return list(sentences)


_CLITIC = re.compile(r"(n't|'s|'re|'ve|'d|'ll|'m)\b", re.IGNORECASE)
_WORD = re.compile(r"n't|'\w+|\w+(?:[-.]\w+)*|[^\w\s]", re.IGNORECASE)


def tokenize_words(text: str) -> list[str]:
    """Split a typed sentence into words as UD English does, keeping their case:
    ``"The dog doesn't bark."`` -> ``["The", "dog", "does", "n't", "bark", "."]``."""
    validation.sequence(text, "text", strings=True, what="a sentence (a string)")
    return _WORD.findall(_CLITIC.sub(r" \1", text))


def accuracy(gold, pred, select=None) -> float:
    """Share of words whose predicted tag is the gold one; ``select`` (a list of boolean lists) picks words.
    ``gold`` and ``pred`` are lists of tag lists (ids, or names), one per sentence, that line up."""
    for name, value in (("gold", gold), ("pred", pred)):
        validation.sequence(value, name, of=(list, tuple, np.ndarray), non_empty=True, what="a list of tag lists")
    validation.require([len(s) for s in gold] == [len(s) for s in pred], "gold and pred sentences do not line up")
    g, p = np.concatenate([np.asarray(s) for s in gold]), np.concatenate([np.asarray(s) for s in pred])
    validation.require((g.dtype.kind in "USO") == (p.dtype.kind in "USO"), "gold and pred mix tag ids and names")
    if select is not None:
        keep = np.concatenate([np.asarray(s, dtype=bool) for s in select])
        g, p = g[keep], p[keep]
    return float((g == p).mean()) if g.size else float("nan")
