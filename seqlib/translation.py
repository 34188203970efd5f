r"""Parallel data for sequence to sequence: vocabularies, batches, Multi30k, BLEU, and a longer run (Day 9).

=====================  ==========================================================================
``seq_vocab``          a :class:`seqlib.text.Vocab` with ``<unk>`` 0, ``<pad>`` 1, ``<bos>`` 2, ``<eos>`` 3
``PairDataset``        item ``i``: ``(source ids (S_i,), target ids (T_i,))``, targets end with ``<eos>``
``collate_pairs``      B items -> ``src (B, S), src_len (B,), tgt_in (B, T), tgt_out (B, T)``
``pair_loader``        a ``DataLoader`` of those batches; ``shuffle=True``: length buckets, seeded
``tokenize``           lower-cased words by sacreBLEU's ``13a`` tokenizer (the tokens BLEU counts)
``load_multi30k``      German and English sentences of a Multi30k split, checksummed (``seqlib.data``)
``corpus_bleu``        sacreBLEU's corpus BLEU of detokenised outputs against raw references
=====================  ==========================================================================

Teacher forcing shifts the target by one: ``tgt_in = <bos> y_1 .. y_{T-1}``, ``tgt_out = y_1 .. y_T``
with :math:`y_T` = ``<eos>``; both are padded with ``<pad>``, which the loss ignores.

**BLEU** (Papineni et al. 2002) is the geometric mean of the modified n-gram precisions
:math:`p_1 .. p_4` over the whole test set, times a brevity penalty:

.. math::

    \mathrm{BLEU} = \min(1, e^{1 - r / c}) \exp\Big(\frac{1}{4} \sum_{n=1}^{4} \log p_n\Big)

with :math:`c` the total output length and :math:`r` the total reference length. It is computed
by sacreBLEU, whose *signature* (tokenizer, case, smoothing, version) makes scores comparable.

``python -m seqlib.translation`` (8 epochs) trains a larger model longer and prints its BLEU.
"""

from __future__ import annotations

import numpy as np
import torch

from seqlib import validation
from seqlib.batching import LengthBucketSampler
from seqlib.text import PAD, PAD_IDX, Vocab

__all__ = ["BOS", "EOS", "BOS_IDX", "EOS_IDX", "seq_vocab", "PairDataset", "collate_pairs", "pair_loader",
           "tokenize", "load_multi30k", "corpus_bleu", "bleu_signature"]

BOS, EOS = "<bos>", "<eos>"
BOS_IDX, EOS_IDX = 2, 3


def seq_vocab(sequences, min_freq: int = 1) -> Vocab:
    """The vocabulary of token sequences (lists of words, or strings read as characters): ``<unk>`` 0,
    ``<pad>`` 1, ``<bos>`` 2, ``<eos>`` 3, then tokens seen at least ``min_freq`` times, most frequent first."""
    validation.sequence(sequences, "sequences", of=(str, list, tuple), non_empty=True,
                        what="a list of token sequences")
    min_freq = validation.positive_int(min_freq, "min_freq", hint="(rarer tokens map to <unk>)")
    vocab = Vocab([list(s) for s in sequences], min_freq=min_freq, reserved_tokens=[PAD, BOS, EOS])
    assert vocab[PAD] == PAD_IDX and vocab[BOS] == BOS_IDX and vocab[EOS] == EOS_IDX
    return vocab


class PairDataset(torch.utils.data.Dataset):
    """Source and target sequences encoded with their vocabularies; each target gets a final ``<eos>``.
    Sequences are cut to ``max_len`` tokens (``None``: kept whole); an empty source is an error."""

    def __init__(self, sources, targets, src_vocab: Vocab, tgt_vocab: Vocab, max_len: int | None = None):
        validation.sequence(sources, "sources", of=(str, list, tuple), what="a list of token sequences")
        validation.sequence(targets, "targets", of=(str, list, tuple), what="a list of token sequences")
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} sources for {len(targets)} targets: the data must be parallel")
        cut = slice(None) if max_len is None else slice(validation.positive_int(max_len, "max_len"))
        self.src = [torch.tensor(src_vocab[list(s)[cut]], dtype=torch.long) for s in sources]
        self.tgt = [torch.tensor(tgt_vocab[list(t)[cut]] + [EOS_IDX], dtype=torch.long) for t in targets]
        empty = [i for i, s in enumerate(self.src) if len(s) == 0]
        if empty:
            raise ValueError(f"source {empty[0]} is empty: drop empty sentences before building the data set")

    def __len__(self) -> int:
        return len(self.src)

    def __getitem__(self, i):
        return self.src[i], self.tgt[i]


def collate_pairs(batch):
    """``[(src, tgt), ...]`` -> ``(src (B, S), src_len (B,), tgt_in (B, T), tgt_out (B, T))``, padded with ``<pad>``."""
    pad = torch.nn.utils.rnn.pad_sequence
    src = pad([s for s, _ in batch], batch_first=True, padding_value=PAD_IDX)
    src_len = torch.tensor([len(s) for s, _ in batch])
    tgt_in = pad([torch.cat([torch.tensor([BOS_IDX]), t[:-1]]) for _, t in batch], batch_first=True,
                 padding_value=PAD_IDX)
    tgt_out = pad([t for _, t in batch], batch_first=True, padding_value=PAD_IDX)
    return src, src_len, tgt_in, tgt_out


def pair_loader(dataset: PairDataset, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """Batches of :func:`collate_pairs`; ``shuffle=True``: pairs of similar lengths together, order from ``seed``.

    A pair's length for bucketing is the longer of its source and target: the decoder's output
    layer, the costliest part of training, runs over every target position, padding included, so
    bucketing by the source alone would leave about a third of the target batch as padding."""
    batch_size = validation.positive_int(batch_size, "batch_size")
    if not isinstance(dataset, PairDataset):
        raise validation.ArgumentTypeError(f"dataset must be a PairDataset, got {type(dataset).__name__}")
    if shuffle:
        lengths = np.array([max(len(s), len(t)) for s, t in zip(dataset.src, dataset.tgt)])
        sampler = LengthBucketSampler(lengths, batch_size, seed)
        return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_pairs)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=collate_pairs)


def tokenize(sentence: str) -> list[str]:
    """Lower-cased word tokens by sacreBLEU's ``13a`` tokenizer (the mteval-v13a rules: punctuation split
    off, hyphens and apostrophes inside words kept): ``"A man's T-shirt."`` -> ``["a", "man's", "t-shirt", "."]``.
    Joining them with spaces is the detokenised output BLEU reads (13a gives the same tokens back)."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    if not isinstance(sentence, str):
        raise validation.ArgumentTypeError(f"sentence must be a string, got {type(sentence).__name__}")
    return Tokenizer13a()(sentence.strip().lower()).split()


SPLITS = ("train", "val", "test_2016_flickr")


def load_multi30k(split: str) -> tuple[list[str], list[str]]:
    """German and English sentences (raw text) of a Multi30k split: ``"train"`` (29,000 pairs), ``"val"``
    (1,014) or ``"test_2016_flickr"`` (1,000), read and checksummed by :func:`seqlib.data.read_text`."""
    from seqlib.data import read_text

    validation.one_of(split, "split", SPLITS)
    de, en = (read_text(f"multi30k-{split}.{lang}").rstrip("\n").split("\n") for lang in ("de", "en"))
    if len(de) != len(en):
        raise ValueError(f"multi30k {split}: {len(de)} German and {len(en)} English lines")
    return de, en


def corpus_bleu(outputs, references, *, lowercase: bool = True) -> float:
    """sacreBLEU's corpus BLEU (0..100) of ``outputs`` against one reference per sentence (strings), with
    its default ``13a`` tokenization; ``lowercase=True`` scores case-insensitively (``case:lc``)."""
    import sacrebleu

    validation.sequence(outputs, "outputs", of=str, what="a list of output sentences (strings)")
    validation.sequence(references, "references", of=str, non_empty=True, what="a list of reference sentences")
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs for {len(references)} references: give one output per sentence")
    # force: outputs joined from 13a tokens look tokenised to sacreBLEU, and 13a gives the same tokens back
    return float(sacrebleu.corpus_bleu(list(outputs), [list(references)], lowercase=lowercase, force=True).score)


def bleu_signature(*, lowercase: bool = True) -> str:
    """The sacreBLEU signature of :func:`corpus_bleu`,
    e.g. ``nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0``."""
    from sacrebleu.metrics import BLEU

    metric = BLEU(lowercase=lowercase)
    metric.corpus_score(["a"], [["a"]])  # the signature names the number of references once scored
    return str(metric.get_signature())


if __name__ == "__main__":  # python -m seqlib.translation: the command line lives in seqlib.translation_cli
    from seqlib.translation_cli import main

    raise SystemExit(main())
