"""The low-level stages through the binding, on the bundled tiny models: encode_prompt ->
noise_fill -> denoise -> decode_latents gives sana_generate's image byte for byte (one prompt's
embeddings reused over two seeds), tensors in and out, and errors that raise instead of crashing."""
from __future__ import annotations

import array
import gc
import os

import numpy as np
import pytest

import sana
from conftest import FIXTURES, fixture_case, read_safetensors

SANA_TINY = os.path.join(FIXTURES, "sana_tiny")
SPRINT_TINY = os.path.join(FIXTURES, "sprint_tiny")
# as tests/test_generate_pipeline.c: 96x64 pixels, latents [1, 32, 2, 3]
W, H, STEPS, PROMPT = 96, 64, 2, "a red fox"


@pytest.fixture(scope="module")
def tiny():
    with sana.Context(sana.Backend.CPU, n_threads=2) as c:
        yield c, c.load_model(SANA_TINY)


def latent_shape(model, batch=1):
    i = model.info
    return (batch, i.latent_channels, H // i.vae_scale_factor, W // i.vae_scale_factor)


def test_stages_reproduce_generate_byte_for_byte(tiny):
    ctx, model = tiny
    emb, mask = ctx.encode_prompt(model, PROMPT)
    # the negative prompt ("") without the complex human instruction, as sana_generate does
    uemb, umask = ctx.encode_prompt(model, "", complex_human_instruction=False)
    with model.sampler(steps=STEPS) as sampler:
        for seed in (5, 6):  # one prompt's embeddings, many seeds
            with sana.Tensor(latent_shape(model)) as lat:
                sana.noise_fill(lat, seed)
                ctx.denoise(model, lat, emb, mask, uncond_embeddings=uemb, uncond_mask=umask,
                            sampler=sampler, guidance_scale=4.5)
                (img,) = ctx.decode_latents(model, lat)
            want = ctx.generate(model, PROMPT, width=W, height=H, steps=STEPS, seed=seed,
                                guidance_scale=4.5, resolution_binning=False)
            assert img.array.shape == (H, W, 3)
            assert img.array.tobytes() == want.array.tobytes(), f"seed {seed}"
    for t in (emb, mask, uemb, umask):
        t.close()


def test_sprint_stages_reproduce_generate(tiny):
    ctx, _ = tiny
    sprint = ctx.load_model(SPRINT_TINY)
    seed = 3
    emb, mask = ctx.encode_prompt(sprint, PROMPT)
    noise = sana.noise_fill(sana.Tensor(latent_shape(sprint)), seed)
    # SCM: latents = randn * sigma_data (0.5); denoise's seed continues that generator
    lat = sana.Tensor(noise.shape, [v * 0.5 for v in noise.read()])
    ctx.denoise(sprint, lat, emb, mask, guidance_scale=4.5, seed=seed)
    (img,) = ctx.decode_latents(sprint, lat)
    want = ctx.generate(sprint, PROMPT, width=W, height=H, seed=seed, guidance_scale=4.5,
                        resolution_binning=False)
    assert img.array.tobytes() == want.array.tobytes()
    sprint.close()


def test_prompt_tensors(tiny):
    ctx, model = tiny
    emb, mask = ctx.encode_prompt(model, ["a red fox", "a cat"], max_sequence_length=40)
    assert emb.shape == (2, 40, model.info.text_hidden_size) and emb.ndim == 3
    assert mask.shape == (2, 40) and mask.numel == 80
    m = mask.read()
    assert isinstance(m, array.array) and m.typecode == "f" and len(m) == 80
    assert set(m) == {0.0, 1.0} and m[0] == 1.0 and m[39] == 0.0  # <bos> first, padding last
    rows = np.asarray(emb)
    assert rows.dtype == np.float32 and rows.shape == emb.shape
    assert np.isfinite(rows).all() and not np.array_equal(rows[0], rows[1])
    assert mask.tolist() == list(m)
    # padding rows: zero (not computed) by default, the reference's values with exact_padding
    pad = np.asarray(mask) == 0
    assert not rows[pad].any()
    exact, _ = ctx.encode_prompt(model, ["a red fox", "a cat"], max_sequence_length=40,
                                 exact_padding=True)
    full = np.asarray(exact)
    assert (np.abs(full[pad]).max(axis=-1) > 0).all()  # every pad row computed
    np.testing.assert_allclose(full[~pad], rows[~pad], rtol=0, atol=1e-6 * np.abs(full).max())
    exact.close()


def test_noise_matches_torch_randn():
    case = fixture_case("e2e/sana_tiny")
    want = read_safetensors(os.path.join(FIXTURES, case["golden"]))["initial_noise"]
    with sana.Tensor(want.shape) as t:
        assert t.read().tolist() == [0.0] * want.size
        sana.noise_fill(t, case["params"]["seed"])
        np.testing.assert_array_equal(t.numpy(), want)


def test_tensor_from_user_data():
    data = [0.5, -1.25, 3.0, 4.0, 5.0, 6.0]
    for src in (data, array.array("f", data), memoryview(array.array("f", data)),
                np.array(data, dtype=np.float64)):
        with sana.Tensor((2, 3), src) as t:
            assert t.shape == (2, 3) and t.tolist() == data
    a = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    with sana.Tensor.from_array(a) as t:
        np.testing.assert_array_equal(t.numpy(), a)
    with pytest.raises(sana.InvalidArgumentError, match="holds 5 floats; the shape needs 6"):
        sana.Tensor((2, 3), data[:5])
    with pytest.raises(sana.InvalidArgumentError, match="format"):
        sana.Tensor((2,), array.array("d", [1.0, 2.0]))
    for bad in ((), (2, 0), (1, 2, 3, 4, 5), (-1,)):
        with pytest.raises(sana.InvalidArgumentError) as e:
            sana.Tensor(bad)
        assert "tensor" in e.value.message  # the library's text


def test_encode_image_round_trip(tiny):
    ctx, model = tiny
    rgb = np.zeros((H, W, 3), dtype=np.uint8)
    rgb[:, : W // 2] = (200, 40, 30)
    lat = ctx.encode_image(model, sana.Image(rgb))
    assert lat.shape == latent_shape(model)
    (back,) = ctx.decode_latents(model, lat)
    assert back.array.shape == (H, W, 3)
    with pytest.raises(sana.InvalidArgumentError, match="multiples of 32"):
        ctx.encode_image(model, sana.Image(np.zeros((40, 40, 3), dtype=np.uint8)))


def test_decode_of_the_wrong_shape_raises(tiny):
    ctx, model = tiny
    C = model.info.latent_channels
    for shape in ((1, C + 1, 2, 3), (1, C, 2), (2, 3)):
        with sana.Tensor(shape) as bad:
            with pytest.raises(sana.InvalidArgumentError) as e:
                ctx.decode_latents(model, bad)
            assert e.value.call == "sana_decode_latents" and e.value.message
    with sana.Tensor((1, C, 2, 3)) as lat, pytest.raises(sana.InvalidArgumentError, match="embeddings"):
        emb = sana.Tensor((1, 7, 5))  # not [B, L, hidden]
        ctx.denoise(model, lat, emb)


def test_denoise_progress_cancel_and_callback_errors(tiny):
    ctx, model = tiny
    emb, mask = ctx.encode_prompt(model, PROMPT)
    lat = sana.noise_fill(sana.Tensor(latent_shape(model)), 1)
    sampler = model.sampler(steps=3)
    calls = []
    ctx.denoise(model, lat, emb, mask, sampler=sampler, progress=lambda s, n: calls.append((s, n)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(sana.CancelledError):
        ctx.denoise(model, lat, emb, mask, sampler=sampler, progress=lambda s, n: s < 1)

    def boom(step, steps):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        ctx.denoise(model, lat, emb, mask, sampler=sampler, progress=boom)
    ctx.denoise(model, lat, emb, mask, sampler=sampler)  # the context stays usable


def test_closed_handles_raise(tiny):
    ctx, model = tiny
    emb, mask = ctx.encode_prompt(model, PROMPT)
    lat = sana.Tensor(latent_shape(model))
    lat.close()
    lat.close()  # twice is fine
    assert lat.closed and "closed" in repr(lat)
    for call in (lambda: lat.shape, lat.read, lambda: sana.noise_fill(lat, 1),
                 lambda: ctx.decode_latents(model, lat),
                 lambda: ctx.denoise(model, lat, emb, mask)):
        with pytest.raises(ValueError, match="Tensor is closed"):
            call()
    with sana.Context(sana.Backend.CPU, n_threads=1) as other:
        m = other.load_model(SANA_TINY, components=sana.Component.VAE)
    assert m.closed  # closing the context closed its model
    with pytest.raises(ValueError, match="closed"):
        ctx.decode_latents(m, emb)
    with pytest.raises(ValueError, match="Context is closed"):
        other.encode_prompt(model, PROMPT)


def test_released_text_encoder_refuses_to_encode(tiny):
    ctx, _ = tiny
    with ctx.load_model(SANA_TINY, components=sana.Component.TOKENIZER | sana.Component.TEXT_ENCODER) as m:
        emb, _ = ctx.encode_prompt(m, PROMPT)
        m.release_text_encoder()
        with pytest.raises(sana.UnsupportedError, match="released"):
            ctx.encode_prompt(m, PROMPT)
        assert emb.shape[0] == 1  # what was encoded before stays valid


def test_tensors_are_freed_on_gc():
    freed = []

    class Counted(sana.Tensor):
        _free = staticmethod(lambda ptr: (freed.append(1), sana.library.sana_tensor_free(ptr)))

    t = Counted((1000,))
    del t
    gc.collect()
    assert freed == [1]
    with Counted((3,)) as t:
        pass
    assert freed == [1, 1] and t.closed


NO_NUMPY = r"""
import sys
sys.modules["numpy"] = None  # `import numpy` raises ImportError from here on
import sana
tiny, prompt = sys.argv[1], sys.argv[2]
t = sana.Tensor((2, 3), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
assert t.shape == (2, 3) and t.read().tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
with sana.Tokenizer(tiny + "/tokenizer") as tok:
    assert tok.encode("a cat") == [2, 235250, 4401]
with sana.Context(sana.Backend.CPU, n_threads=2) as ctx, ctx.load_model(tiny) as model:
    emb, mask = ctx.encode_prompt(model, prompt)
    lat = sana.noise_fill(sana.Tensor((1, 32, 2, 3)), 5)
    ctx.denoise(model, lat, emb, mask, sampler=model.sampler(steps=1))
    assert len(lat.read()) == 192 and lat.read() != sana.noise_fill(sana.Tensor(lat.shape), 5).read()
    try:
        ctx.decode_latents(model, lat)
    except ImportError as e:
        assert "numpy" in str(e)
    else:
        raise AssertionError("an Image without numpy")
print("ok without numpy")
"""


def test_tensors_and_stages_need_no_numpy():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", NO_NUMPY, SANA_TINY, PROMPT], capture_output=True, text=True)
    assert out.returncode == 0 and "ok without numpy" in out.stdout, out.stderr
