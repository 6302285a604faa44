"""Tokenizer through the binding (exact ids against the reference tokenizers package) and the
per-context log callback."""
from __future__ import annotations

import os

import pytest

import sana
from conftest import FIXTURES, SANA_TINY, fixture_case, read_safetensors, unless_not_implemented


def test_tokenizer_matches_reference_ids():
    case = fixture_case("tokenizer/gemma2")
    golden = read_safetensors(os.path.join(FIXTURES, case["golden"]))
    n = sum(1 for k in golden if k.startswith("text."))
    assert n > 10
    with unless_not_implemented("sana_tokenizer_load"):
        tok = sana.Tokenizer(os.path.join(SANA_TINY, "tokenizer"))
    with tok:
        assert tok.vocab_size > 256000 - 1
        for i in range(n):
            text = golden[f"text.{i}"].tobytes()  # bytes: some prompts are not valid UTF-8
            want = golden[f"ids.{i}"].tolist()
            assert tok.encode(text, add_special=True) == want, f"prompt {i}: {text!r}"
        ids = tok.encode("a red fox in the snow", add_special=True)
        assert tok.decode(ids, skip_special=True) == "a red fox in the snow"
        assert tok.encode("") == tok.encode("", add_special=True)
    assert tok.closed


def test_tokenizer_known_ids_round_trip_and_close():
    # the ids tests/test_tokenizer.c expects of the public API: <bos> "a" " cat"
    with sana.Tokenizer(os.path.join(SANA_TINY, "tokenizer")) as tok:
        assert tok.encode("a cat") == [2, 235250, 4401]
        assert tok.encode("a cat", add_special=False) == [235250, 4401]
        assert tok.decode([2, 235250, 4401]) == "a cat"
        assert tok.decode([2, 235250, 4401], skip_special=False) == "<bos>a cat"
        text = "Grüße, 東京! a  b"
        assert tok.decode(tok.encode(text)) == text
        with pytest.raises(sana.InvalidArgumentError, match="vocabulary"):
            tok.decode([tok.vocab_size + 5])
    with pytest.raises(ValueError, match="Tokenizer is closed"):
        tok.encode("a cat")


def test_tokenizer_missing_file_names_it(tmp_path):
    with pytest.raises(sana.SanaError) as info:
        sana.Tokenizer(tmp_path / "nope")
    assert str(tmp_path / "nope") in info.value.message


def test_log_callback_gets_the_context_messages():
    got = []
    with sana.Context(sana.Backend.CPU, n_threads=1, log=lambda lvl, msg: got.append((lvl, msg)),
                      log_level=sana.LogLevel.DEBUG) as ctx:
        with unless_not_implemented("loading the tokenizer"):
            ctx.load_model(SANA_TINY, components=sana.Component.TOKENIZER).close()
    assert got, "no log message at DEBUG level while loading a tokenizer"
    assert all(isinstance(l, sana.LogLevel) and isinstance(m, str) and m for l, m in got)
    assert any("tokenizer.json" in m for _, m in got), got

    quiet = []
    with sana.Context(sana.Backend.CPU, n_threads=1, log=lambda lvl, msg: quiet.append(msg),
                      log_level=sana.LogLevel.ERROR) as ctx:
        ctx.load_model(SANA_TINY, components=sana.Component.TOKENIZER).close()
    assert quiet == [], "messages above the context's level must be dropped"
