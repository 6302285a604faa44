"""What works without a model: version, status names, errors, contexts, images and PNG."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import sana
from conftest import unless_not_implemented


def test_version_matches_header():
    v = sana.version()
    major, minor, patch = (int(x) for x in v.split("."))
    assert sana.version_number() == major * 10000 + minor * 100 + patch
    assert v == sana.__version__, "Python package and libsana versions differ"


def test_status_strings_name_every_code():
    for st in sana.Status:
        text = sana.status_string(st)
        assert text.startswith("SANA_OK" if st == 0 else "SANA_ERR_" + st.name), (st, text)


def test_context_cpu(ctx):
    assert ctx.backend == sana.Backend.CPU
    assert ctx.last_error == ""
    ctx.cancel()  # no call running: harmless


def test_context_close_is_idempotent_and_guards_use():
    c = sana.Context(sana.Backend.CPU)
    c.close()
    c.close()
    assert c.closed
    with pytest.raises(ValueError, match="closed"):
        _ = c.backend


def test_bad_argument_raises_with_status_and_message():
    with pytest.raises(sana.InvalidArgumentError) as info:
        sana.Context(sana.Backend.CPU, n_threads=-3)
    e = info.value
    assert e.status == sana.Status.INVALID_ARGUMENT
    assert "n_threads" in e.message
    assert "SANA_ERR_INVALID_ARGUMENT" in str(e) and "sana_context_create" in str(e)


def test_model_missing_folder_names_the_path(ctx):
    with unless_not_implemented("sana_model_load"):
        with pytest.raises(sana.SanaError) as info:
            ctx.load_model("/nonexistent/sana-model")
        if info.value.status == sana.Status.UNSUPPORTED:
            raise info.value
        assert info.value.status == sana.Status.NOT_FOUND
        assert "/nonexistent/sana-model" in info.value.message


def test_image_from_array_validates():
    with pytest.raises(ValueError):
        sana.Image(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        sana.Image(np.zeros((4, 4, 3), np.float32))


@pytest.mark.parametrize("channels", [3, 4])
def test_png_round_trip_keeps_pixels_and_parameters(tmp_path, channels):
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, size=(17, 23, channels), dtype=np.uint8)
    img = sana.Image(arr, "prompt: a fox, seed: 42")
    path = tmp_path / "x.png"
    with unless_not_implemented("PNG writing"):
        img.save_png(path)
        back = sana.Image.load_png(path)
        assert back.array.shape == (17, 23, channels)
        np.testing.assert_array_equal(back.array, arr)
        assert back.parameters == "prompt: a fox, seed: 42"
        # Same image and text give the same bytes (the header's promise).
        path2 = tmp_path / "y.png"
        img.save_png(path2)
        assert path.read_bytes() == path2.read_bytes()
        # Pillow reads what libsana writes.
        pil = pytest.importorskip("PIL.Image").open(path)
        np.testing.assert_array_equal(np.asarray(pil), arr)


def test_png_load_missing_file(tmp_path):
    with unless_not_implemented("PNG reading"):
        with pytest.raises(sana.SanaError) as info:
            sana.Image.load_png(tmp_path / "nope.png")
        if info.value.status == sana.Status.UNSUPPORTED:
            raise info.value
        assert str(tmp_path / "nope.png") in info.value.message


def test_pil_conversion():
    arr = np.zeros((5, 7, 3), np.uint8)
    arr[..., 0] = 200
    img = sana.Image(arr, "p")
    pil = img.pil
    pytest.importorskip("PIL")
    assert pil is not None and pil.size == (7, 5) and pil.mode == "RGB"
    assert pil.getpixel((3, 2)) == (200, 0, 0)
    np.testing.assert_array_equal(sana.Image.from_pil(pil).array, arr)


def test_contexts_are_independent_across_threads():
    errors = []

    def work():
        try:
            with sana.Context(sana.Backend.CPU, n_threads=1) as c:
                assert c.backend == sana.Backend.CPU
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_library_override_env_is_respected():
    # The tests run against the library the environment names (CI sets SANA_LIBRARY); the loader
    # must have used exactly that file.
    env = os.environ.get("SANA_LIBRARY")
    if not env:
        pytest.skip("SANA_LIBRARY not set: the package folder or the system library is in use")
    assert os.path.realpath(sana.library._name) == os.path.realpath(env) or os.path.isdir(env)
