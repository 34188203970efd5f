r"""Named entities in BIO tags (Day 8 part B): the WNUT 2017 files, their tag set, entity spans, broken spans.

::

    word<TAB>tag lines --read_bio--> Treebank: [(words, tags), ...]   (a blank line ends a sentence)
    tags --bio_spans--> [(type, start, end), ...]   the entities, as conlleval (and seqeval) read them
    tags --invalid_transitions--> positions t where I-X follows neither B-X nor I-X

A tag is ``O`` (outside), ``B-X`` (the first word of an entity of type X) or ``I-X`` (a later word of it).
The lab scores with ``seqeval``; :func:`bio_spans` is the task's definition written out, and a test checks
that the two agree. The gazetteer baseline is :class:`seqlib.baselines.Gazetteer`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from seqlib import validation
from seqlib.treebank import Treebank

__all__ = ["WNUT17_TYPES", "WNUT17_TAGS", "read_bio", "load_wnut17", "bio_spans", "invalid_transitions"]

#: The six entity types of WNUT 2017, alphabetical, and its 13 BIO tags (``O`` first: the tag ids).
WNUT17_TYPES = ("corporation", "creative-work", "group", "location", "person", "product")
WNUT17_TAGS = ("O", *(f"{p}-{t}" for t in WNUT17_TYPES for p in "BI"))
_BIO = re.compile(r"O|[BI]-\S+")


def read_bio(text: str) -> Treebank:
    """The sentences ``[(words, tags), ...]`` of a two-column BIO text: one ``word<TAB>tag`` per line, a
    blank (or whitespace-only) line between sentences (the CoNLL layout of WNUT 2017)."""
    validation.sequence(text, "text", strings=True, what="the text of a two-column BIO file")
    bank, words, tags = Treebank(), [], []
    for k, line in enumerate([*text.splitlines(), ""], 1):
        if not line.strip():
            if words:
                bank.append((words, tags))
            words, tags = [], []
            continue
        fields = line.split("\t")
        validation.require(len(fields) == 2 and fields[0] != "" and _BIO.fullmatch(fields[1]) is not None,
                           f"line {k} ({line!r}) is not 'word<TAB>tag' with a BIO tag (O, B-type or I-type)")
        words.append(fields[0])
        tags.append(fields[1])
    return bank


def load_wnut17(split: str) -> Treebank:
    """One split (``"train"``, ``"dev"``, ``"test"``) of WNUT 2017 through :mod:`seqlib.data` (checksum verified)."""
    from seqlib.data import read_text

    return read_bio(read_text(f"wnut17-{validation.one_of(split, 'split', ('train', 'dev', 'test'))}"))


def _check_tags(tags: Sequence[str]) -> list[str]:
    validation.sequence(tags, "tags", of=str, what="one sentence's BIO tags, e.g. ['B-person', 'I-person', 'O']")
    validation.require(all(_BIO.fullmatch(t) for t in tags), f"tags must be O, B-type or I-type, got {list(tags)}")
    return list(tags)


def bio_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities ``(type, start, end)`` (``end`` exclusive) of one sentence's tags, as conlleval reads
    them: an entity begins at ``B-X``, or at an ``I-X`` that continues no entity of type X (after ``O`` or
    another type: an invalid transition, read as a beginning), and goes on over the ``I-X`` that follow.

    ``["B-person", "I-person", "O", "I-location"]`` -> ``[("person", 0, 2), ("location", 3, 4)]``.
    """
    tags = _check_tags(tags)
    spans, start, kind = [], None, None
    for t, tag in enumerate([*tags, "O"]):
        prefix, _, typ = tag.partition("-")
        if start is not None and not (prefix == "I" and typ == kind):
            spans.append((kind, start, t))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = t, typ
    return spans


def invalid_transitions(tags: Sequence[str]) -> list[int]:
    """The positions t whose tag ``I-X`` follows neither ``B-X`` nor ``I-X`` (``O``, another type, or the
    sentence's start): ``["O", "I-person", "B-group", "I-person"]`` -> ``[1, 3]``."""
    tags = ["O", *_check_tags(tags)]
    return [t - 1 for t in range(1, len(tags)) if tags[t].startswith("I-")
            and tags[t - 1] not in (f"B-{tags[t][2:]}", tags[t])]
