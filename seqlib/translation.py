r"""Parallel data for sequence to sequence: vocabularies, batches, Multi30k, BLEU, and a longer run (Day 9).

=====================  ==========================================================================
``seq_vocab``          a :class:`seqlib.text.Vocab` with ``<unk>`` 0, ``<pad>`` 1, ``<bos>`` 2, ``<eos>`` 3
``PairDataset``        a :class:`seqlib.batching.PaddedDataset` of pairs; :func:`seqlib.batching.make_loader`
                       gives batches ``src (B, S), src_len (B,), tgt_in (B, T), tgt_out (B, T)``
``bleu_tokens``        lower-cased words by sacreBLEU's ``13a`` tokenizer (the tokens BLEU counts)
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

import torch

from seqlib import validation
from seqlib.batching import PaddedDataset, make_loader
from seqlib.text import PAD, PAD_IDX, UNK_IDX, Vocab

__all__ = ["BOS", "EOS", "BOS_IDX", "EOS_IDX", "seq_vocab", "PairDataset", "bleu_tokens", "load_multi30k", "output_text",
           "corpus_bleu", "bleu_signature"]

BOS, EOS = "<bos>", "<eos>"
BOS_IDX, EOS_IDX = 2, 3
_SEQUENCE = (str, list, tuple)  # a token sequence: a list of words, or a string read as characters


def seq_vocab(sequences, min_freq: int = 1) -> Vocab:
    """The vocabulary of token sequences (lists of words, or strings read as characters): ``<unk>`` 0,
    ``<pad>`` 1, ``<bos>`` 2, ``<eos>`` 3, then tokens seen at least ``min_freq`` times, most frequent first."""
    validation.sequence(sequences, "sequences", of=_SEQUENCE, non_empty=True, what="a list of token sequences")
    min_freq = validation.positive_int(min_freq, "min_freq", hint="(rarer tokens map to <unk>)")
    return Vocab([list(s) for s in sequences], min_freq=min_freq, reserved_tokens=[PAD, BOS, EOS])


class PairDataset(PaddedDataset):
    """Source and target sequences encoded with their vocabularies, for :func:`seqlib.batching.make_loader`.

    Item ``i`` is ``(source ids, tgt_in, tgt_out)``, all padded with ``<pad>``; a pair's length for
    bucketing is the longer of source and target. Sequences are cut to ``max_len`` tokens (``None``: kept
    whole). An empty source or target, or sources or targets mostly ``<unk>`` (swapped vocabularies?), is an error.
    """

    def __init__(self, sources, targets, src_vocab: Vocab, tgt_vocab: Vocab, max_len: int | None = None):
        validation.pairs(sources, targets, ("sources", "targets"), of=_SEQUENCE, non_empty=False,
                         what="a list of token sequences", hint="the data must be parallel")
        cut = slice(None) if max_len is None else slice(validation.positive_int(max_len, "max_len"))
        src = [torch.tensor(src_vocab[list(s)[cut]], dtype=torch.long) for s in sources]
        tgt = [tgt_vocab[list(t)[cut]] for t in targets]
        validation.require(all(tgt), f"targets[{tgt.index([]) if not all(tgt) else 0}] is empty: drop empty pairs")
        for name, encoded in (("sources", src), ("targets", tgt)):
            validation.number_in_range(_unk_share(encoded), f"the share of <unk> in {name}", 0, 0.5,
                                       hint="are src_vocab and tgt_vocab swapped?")
        super().__init__(((s, torch.tensor([BOS_IDX] + t), torch.tensor(t + [EOS_IDX])) for s, t in zip(src, tgt)),
                         pad_values=(PAD_IDX, PAD_IDX, PAD_IDX))

    @property
    def src(self) -> list[torch.Tensor]:
        """The source ids of every pair."""
        return [item[0] for item in self.items]


def _unk_share(encoded) -> float:
    """The share of ``<unk>`` among the tokens of encoded sequences (0 below 20 tokens: too few to tell)."""
    ids = [int(i) for seq in encoded for i in seq]
    return sum(i == UNK_IDX for i in ids) / len(ids) if len(ids) >= 20 else 0.0


def bleu_tokens(sentence: str) -> list[str]:
    """Lower-cased word tokens by sacreBLEU's ``13a`` tokenizer (the mteval-v13a rules: punctuation split
    off, hyphens and apostrophes inside words kept): ``"A man's T-shirt."`` -> ``["a", "man's", "t-shirt", "."]``.
    Joining them with spaces is the detokenised output BLEU reads (13a gives the same tokens back)."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    validation.require(isinstance(sentence, str), f"sentence must be a string, got {type(sentence).__name__}",
                       TypeError)
    return Tokenizer13a()(sentence.strip().lower()).split()


SPLITS = ("train", "val", "test_2016_flickr")


def load_multi30k(split: str) -> tuple[list[str], list[str]]:
    """German and English sentences (raw text) of a Multi30k split: ``"train"`` (29,000 pairs), ``"val"``
    (1,014) or ``"test_2016_flickr"`` (1,000), read and checksummed by :func:`seqlib.data.read_text`."""
    from seqlib.data import read_text

    validation.one_of(split, "split", SPLITS)
    de, en = (read_text(f"multi30k-{split}.{lang}").rstrip("\n").split("\n") for lang in ("de", "en"))
    return de, en


def output_text(vocab, ids) -> str:
    """An output's token ids as the text BLEU reads: the tokens joined by spaces, ``<unk>`` written
    ``UNK``, one wrong word (sacreBLEU's ``13a`` would split ``<unk>`` into three tokens)."""
    return " ".join("UNK" if t == "<unk>" else t for t in vocab.to_tokens(ids))


def corpus_bleu(outputs, references, *, lowercase: bool = True) -> float:
    """sacreBLEU's corpus BLEU (0..100) of ``outputs`` against one reference per sentence (strings), with
    its default ``13a`` tokenization; ``lowercase=True`` scores case-insensitively (``case:lc``)."""
    import sacrebleu

    validation.pairs(outputs, references, ("outputs", "references"),
                     what="a list of sentences (strings)", hint="give one output per sentence")
    validation.one_of(lowercase, "lowercase", (True, False))
    # force: outputs joined from 13a tokens look tokenised to sacreBLEU, and 13a gives the same tokens back
    return float(sacrebleu.corpus_bleu(list(outputs), [list(references)], lowercase=lowercase, force=True).score)


def bleu_signature(*, lowercase: bool = True) -> str:
    """The sacreBLEU signature of :func:`corpus_bleu`,
    e.g. ``nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0``."""
    from sacrebleu.metrics import BLEU

    metric = BLEU(lowercase=lowercase)
    metric.corpus_score(["a"], [["a"]])  # the signature names the number of references only once scored
    return str(metric.get_signature())


if __name__ == "__main__":  # python -m seqlib.translation: the command line lives in seqlib.translation_cli
    from seqlib.translation_cli import main

    raise SystemExit(main())
