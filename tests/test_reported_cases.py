"""Issue 24's reported cases (its "Why"), each tied to the test that asserts it.

Most cases are asserted where their module is tested; the table names that test (file::name, with the
parameters meant in brackets) so that no case is tested twice. The tests of this file are the cases that no
other test asserted ([NEW]); test_every_named_test_exists keeps the table true to the suite.

Data loss (python -m seqlib.copy_task)
- -l thesis --overwrite deleted an existing folder thesis/ holding the user's own file
    -> test_cli.py::test_overwrite_replaces_only_a_run_folder_of_the_tool
- -l name --overwrite where name is a file crashes inside rmtree
    -> test_cli.py::test_overwrite_replaces_only_a_run_folder_of_the_tool
- a run that fails after the folder is made (e.g. -lr inf) leaves a folder that blocks the rerun
    -> test_cli.py::test_a_failed_run_leaves_nothing_and_changes_nothing
    -> test_cli.py::test_every_flag_of_every_command_refuses_a_bad_value [copy_task-flags41-inf: -lr inf
       itself]
- --load of a checkpoint without the copy task's extras ends in KeyError: 'train_lengths'
    -> test_cli.py::test_load_refuses_what_is_not_a_model_of_the_tool

The translation command line
- --train-pairs -5 silently trains on all but the last 5 pairs
    -> test_cli.py::test_translation_refuses_before_loading_multi30k
- --beam-width 0 fails only after training and decoding the test set
    -> test_cli.py::test_translation_refuses_before_loading_multi30k
    -> test_cli.py::test_the_other_commands_refuse_a_bad_flag_as_processes
- every bad value ends in a traceback after Multi30k is loaded
    -> test_cli.py::test_every_flag_of_every_command_refuses_a_bad_value [translation-*]

Metrics and readers
- tagging accuracy: [[1, 2], [3]] against [[1], [2, 3]] gives 1.0
    -> test_tagging.py::test_bad_inputs_at_the_tagging_boundaries
    -> test_tagging.py::test_accuracy_with_a_selection
- tagging accuracy: tag ids against tag names (0.0)
    -> test_tagging.py::test_bad_inputs_at_the_tagging_boundaries
- MostFrequentTag.tag('The dog') tags 7 characters
    -> test_tagging.py::test_bad_inputs_at_the_tagging_boundaries
- .tag before fit is an AttributeError
    -> test_tagging.py::test_bad_inputs_at_the_tagging_boundaries
- read_conllu of a file without the UPOS column returns None tags
    -> test_tagging.py::test_bad_inputs_at_the_tagging_boundaries
- distinct_n(['ab'], 3) is 0.0
    -> test_decoding.py::test_distinct_n_and_repetition_rate
- seen_share given the training text as one string matches substrings
    -> test_decoding.py::test_seen_share_with_a_set_or_a_vocabulary
- corpus_bleu(lowercase='no') lowercases
    -> test_seq2seq.py::test_bad_inputs_at_the_translation_boundaries
- char_accuracy(['1979'], ['']) is a ZeroDivisionError
    -> test_dates.py::test_bad_inputs_at_the_dates_boundaries [now NaN: no character to score]

Models and decoding
- CRF masks with a hole are accepted (viterbi returns tag -1 inside a sentence)
    -> test_crf.py::test_a_mask_with_a_hole_is_refused
- masked_mean turns inf at padding into NaN
    -> test_batching.py::test_masked_mean_ignores_inf_and_nan_at_padding
- DotProductAttention(3, 4, 0) gives NaN weights
    -> test_seq2seq.py::test_bad_inputs_at_the_translation_boundaries
- Tagger(dropout=1.0) is accepted
    -> test_tagging.py::test_bad_inputs_at_the_tagging_boundaries
- Tagger(1) fails in torch's embedding assertion
    -> test_tagging.py::test_tagger_needs_unk_and_pad_in_its_vocabulary
- an eos outside the vocabulary is accepted by sample and beam_search and can never fire
    -> test_decoding.py::test_an_eos_outside_the_vocabulary_is_refused
- beam_search returns [] when every token scores -inf
    -> test_decoding.py::test_beam_search_refuses_a_first_step_where_every_token_is_impossible
- a character Tagger called without its characters fails in torch
    -> test_tagging.py::test_a_character_tagger_asks_for_its_characters
- tag_sentence with chars=None returns 'ADJ' with p = NaN for every word
    -> test_tagging.py::test_a_character_tagger_asks_for_its_characters
- find_loop on a 2-D tensor fails in torch
    -> test_decoding.py::test_find_loop_takes_one_row_of_tokens

Checkpoints
- save accepts extras (np.float64, np.str_) that load then refuses
    -> test_checkpoint.py::test_save_keeps_numpy_numbers_and_strings_as_plain_data
    -> test_checkpoint.py::test_save_refuses_what_load_would_refuse_and_changes_nothing
- a Git LFS pointer is reported as holding objects other than tensors (weights_only=False advised)
    -> test_checkpoint.py::test_a_damaged_file_is_told_from_an_unsafe_one [lfs]
- an HTML page is reported the same way
    -> test_checkpoint.py::test_a_damaged_file_is_told_from_an_unsafe_one [html]
- most random-byte files are reported the same way
    -> test_checkpoint.py::test_a_damaged_file_is_told_from_an_unsafe_one [random0-4, pickle-like0-7, zip-
       like]
- a text file ends in a bare KeyError from torch's unpickler
    -> test_checkpoint.py::test_a_damaged_file_is_told_from_an_unsafe_one [text, json]
    -> test_checkpoint.py::test_a_bare_state_dict_or_another_file_is_not_a_checkpoint

Dates, n-grams, the copy task
- parse_date ignores an unknown weekday ("Funday")
    -> test_dates.py::test_bad_inputs_at_the_dates_boundaries
- dates.generate (now make_examples) accepts dates outside 1950-2049 and writes them with two-digit years that
  read back as another century
    -> test_dates.py::test_bad_inputs_at_the_dates_boundaries [2050]
    -> test_reported_cases.py::test_a_date_before_1950_is_refused_and_the_edges_read_back_in_their_century
       [NEW]
- copy_mask(5, 7), copy_mask(5, -1) are accepted
    -> resolved by removal: copy_mask was unused and left seqlib
- to_text([-1, 2]) is accepted
    -> test_copy_task.py::test_to_text_refuses_ids_outside_the_eleven_tokens
- PairDataset with the two vocabularies swapped maps every word to <unk> without a word
    -> test_seq2seq.py::test_bad_inputs_at_the_translation_boundaries
- collate_pairs accepts an empty target (collate_pairs is now PairDataset.collate: the pairs refuse it when made)
    -> test_batching.py::test_pair_dataset_refuses_an_empty_target
    -> test_seq2seq.py::test_pairs_are_shifted_for_teacher_forcing_and_padded
- a failed NgramLM.tune_k leaves k changed
    -> test_ngram.py::test_a_failed_tune_k_leaves_k_unchanged

Exercise checks
- all nine Day 6-9 exercise checks wait forever on a student function that never returns
    -> test_checks_guard.py::test_a_function_that_never_returns_gets_feedback_within_the_limit
       [check_filter_logits, check_bits_per_character, check_copy_scores, check_mlstm_step,
       check_bidirectional, check_path_score, check_log_partition, check_attention_step, check_beam_search]
    -> test_checks_kernel.py::test_a_check_answers_an_endless_loop_in_a_jupyter_kernel
- check_mlstm_step, check_bidirectional and check_attention_step crash on a right answer in another float dtype
    -> test_checks_guard.py::test_a_right_answer_passes_in_another_dtype_and_container [check_mlstm_step,
       check_bidirectional, check_attention_step]
- check_bidirectional lets the student's exception escape on its second call
    -> test_checks_day08.py::test_bidirectional_an_error_on_the_second_call_is_feedback
- check_log_partition diagnoses a function that returns NaN as "overflows for large scores"
    -> test_checks_day08.py::test_log_partition_right_answer_viterbi_and_overflow
    -> test_checks_guard.py::test_a_function_that_returns_nan_is_told_so [check_log_partition]
- check_copy_scores fails a right answer given as NumPy arrays
    -> test_checks_guard.py::test_a_right_answer_passes_in_another_dtype_and_container [check_copy_scores]

Public callables in no test
- seven public callables appear in no test (copy_mask, to_text, collate_pairs, Encoder, Decoder,
  AdditiveAttention, DotProductAttention)
    -> copy_mask, collate_pairs: removed (above); to_text: test_copy_task.py (above)
    -> test_seq2seq.py::test_attention_ignores_whatever_padding_holds [AdditiveAttention, DotProductAttention]
    -> test_reported_cases.py::test_the_encoder_and_decoder_alone_keep_their_shapes_and_ignore_padding [NEW]
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import torch

from seqlib import dates
from seqlib.batching import padding_mask
from seqlib.seq2seq import Decoder, Encoder

TESTS = Path(__file__).resolve().parent


# the table above: every test it names exists, so a renamed or deleted test shows here
def test_every_named_test_exists():
    named = re.findall(r"(test_\w+\.py)::(test_\w+)", __doc__)
    assert len(named) >= 45
    missing = [f"{file}::{name}" for file, name in named if f"def {name}(" not in (TESTS / file).read_text()]
    assert not missing, missing


# "`dates.generate` accepts dates outside 1950-2049 and writes them with two-digit years that read back as another century"
def test_a_date_before_1950_is_refused_and_the_edges_read_back_in_their_century():
    with pytest.raises(ValueError, match="1950-01-01 .. 2049-12-31"):
        dates.make_examples([datetime.date(1949, 12, 31)])  # "49" would read back as 2049 (2050: test_dates.py)
    edges = [datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)]
    for e in dates.make_examples(edges, seed=0):
        assert e.iso in ("1950-01-01", "2049-12-31") and dates.parse_date(e.text, e.locale, e.pattern) == e.iso, e


# "seven public callables appear in no test (... Encoder, Decoder ...)"
@pytest.mark.parametrize("attention", [None, "additive", "dot"])
def test_the_encoder_and_decoder_alone_keep_their_shapes_and_ignore_padding(attention):
    torch.manual_seed(0)
    B, S, T, V, e, h = 2, 5, 3, 7, 4, 6
    encoder, decoder = Encoder(V, e, h).eval(), Decoder(V, e, h, 2 * h, attention).eval()
    src, src_len = torch.randint(3, V, (B, S)), torch.tensor([5, 2])
    H, c = encoder(src, src_len)
    assert H.shape == (B, S, 2 * h) and c.shape == (B, 2 * h)
    assert (H[1, 2:] == 0).all()  # no state past a sentence's end
    H2, c2 = encoder(torch.cat([src[1:, :2], torch.zeros(1, 3, dtype=torch.long)], 1), src_len[1:])
    assert torch.allclose(H2[0], H[1], atol=1e-6) and torch.allclose(c2[0], c[1], atol=1e-6)  # padding is not read
    logits, s, weights = decoder(torch.randint(3, V, (B, T)), torch.zeros(1, B, h), H, c, padding_mask(src_len, S))
    assert logits.shape == (B, T, V) and s.shape == (1, B, h)
    if attention is None:
        assert weights is None
    else:
        assert weights.shape == (B, T, S) and (weights[1, :, 2:] == 0).all()
        assert torch.allclose(weights.sum(-1), torch.ones(B, T))
    with pytest.raises(ValueError, match="attention"):
        Decoder(V, e, h, 2 * h, "luong")
