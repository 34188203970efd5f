"""``python -m seqlib.translation``: train the lab's Multi30k model (German to English) longer and print
its BLEU, greedy and with beam search, on the 1,000-sentence test set (Day 9's closing note).

Every option is checked before Multi30k is read (:mod:`seqlib.cli`); ``--train-pairs N`` trains on the
first N pairs only, a quick check of the whole pipeline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from seqlib import cli

PROG = "python -m seqlib.translation"
OPTIONS = [  # (flags, default, rule, help)
    ("--num-epochs", 8, cli.POSITIVE, "epochs"),
    ("--embed-size", 256, cli.POSITIVE, "embedding size of both languages"),
    ("--num-hiddens", 256, cli.POSITIVE, "hidden units of the encoder (each direction) and the decoder"),
    ("--min-freq", 2, cli.POSITIVE, "a word in the vocabularies occurs at least this often in training"),
    ("--batch-size", 128, cli.POSITIVE, "training batch size"),
    ("--lr", 2e-3, cli.POSITIVE_NUMBER, "Adam's learning rate"),
    ("--dropout", 0.3, cli.FRACTION, "dropout"),
    ("--attention", "additive", cli.one_of("additive", "dot", "none"), "the decoder's attention"),
    ("--input-feeding", False, bool, "feed each step's attentional vector into the next step's input (Luong et al.; "
                                     "needs attention)"),
    ("--max-len", 40, cli.POSITIVE, "longest training sentence and longest output, in tokens"),
    ("--beam-width", 5, cli.POSITIVE, "beam width of beam search (1 is greedy decoding)"),
    ("--seed", 0, cli.NON_NEGATIVE, "seed"),
    ("--train-pairs", None, cli.POSITIVE, "only the first N training pairs (a quick check)"),
    ("--record", None, cli.TEXT, "also write the results to this JSON file (tools/long_runs.py reads it)"),
]


def _check(args) -> None:
    if args.input_feeding and args.attention == "none":
        raise cli.Refused("input_feeding", "input feeding feeds back what attention read: use it with "
                                           "--attention additive or dot")


def main(argv=None) -> int:
    """Train, translate the test set greedily and by beam search, print BLEU and the time taken."""
    from seqlib.seq2seq import Seq2Seq, sequence_loss, translate_beam, translate_greedy
    from seqlib.batching import make_loader
    from seqlib.training import fit
    from seqlib.translation import (BOS_IDX, EOS_IDX, SPLITS, PairDataset, bleu_signature, corpus_bleu,
                                    bleu_tokens, load_multi30k, output_text, seq_vocab)
    from seqlib.page import default_device, num_params, seed_everything

    args = cli.parse(PROG, "Train the Day 9 model (German to English) longer; print its BLEU.", OPTIONS, argv,
                     _check)
    seed_everything(args.seed)
    device = default_device()
    start = time.perf_counter()
    data = {s: [[bleu_tokens(x) for x in lines[:args.train_pairs if s == "train" else None]]
                for lines in load_multi30k(s)] for s in SPLITS}
    refs = load_multi30k("test_2016_flickr")[1]
    src_vocab, tgt_vocab = (seq_vocab(data["train"][k], args.min_freq) for k in (0, 1))
    train = PairDataset(*data["train"], src_vocab, tgt_vocab, max_len=args.max_len)
    val = PairDataset(*data["val"], src_vocab, tgt_vocab)
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), args.embed_size, args.num_hiddens,
                    None if args.attention == "none" else args.attention, args.dropout,
                    input_feeding=args.input_feeding).to(device)
    print(f"vocabularies: {len(src_vocab)} German, {len(tgt_vocab)} English tokens; {num_params(model):,} parameters")
    history = fit(model, make_loader(train, args.batch_size, shuffle=True, seed=args.seed),
                  make_loader(val, 256), loss_fn=sequence_loss, num_epochs=args.num_epochs, clip_grad_norm=1.0,
                  optimizer=torch.optim.Adam(model.parameters(), lr=args.lr), desc="seq2seq")
    for epoch, tl, vl in zip(history.epochs, history.train_loss, history.val_loss):
        print(f"epoch {epoch}: train loss {tl:.3f}, val loss {vl:.3f}")
    test = PairDataset(*data["test_2016_flickr"], src_vocab, tgt_vocab)
    greedy = [out for src, src_len, _, _ in make_loader(test, 256)
              for out in translate_greedy(model, src, src_len, bos=BOS_IDX, eos=EOS_IDX, max_len=args.max_len)]
    beam = [translate_beam(model, s.tolist(), bos=BOS_IDX, eos=EOS_IDX, max_len=min(args.max_len, 3 * len(s) // 2 + 5),
                           beam_width=args.beam_width) for s in test.src]
    bleu = {name: corpus_bleu([output_text(tgt_vocab, o) for o in outputs], refs)
            for name, outputs in (("greedy", greedy), ("beam", beam))}
    print(f"BLEU greedy {bleu['greedy']:.1f}, beam {args.beam_width} {bleu['beam']:.1f} ({bleu_signature()}); "
          f"{time.perf_counter() - start:.0f} s in all, {sum(history.train_time):.0f} s training")
    if args.record:
        Path(args.record).write_text(json.dumps({
            "bleu_greedy": bleu["greedy"], "bleu_beam": bleu["beam"], "beam_width": args.beam_width,
            "bleu_signature": bleu_signature(), "num_params": num_params(model), "epochs": len(history.epochs),
            "val_loss": history.val_loss, "train_seconds": sum(history.train_time),
            "attention": args.attention, "input_feeding": args.input_feeding, "num_hiddens": args.num_hiddens}, indent=1) + "\n")
    return 0
