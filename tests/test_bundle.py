"""The model bundle (.npz): round trip, and every way a bad file is refused with a named BundleError.

A refusal must always be one of the BundleError subclasses with a one-line message, never a numpy / zipfile /
zlib / json exception or a chained traceback (load_bundle's contract: "every way it can be wrong is a
BundleError subclass with a plain message").
"""
from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import zipfile

import numpy as np
import pytest

from spvit.configs import ModelConfig, load_config
from spvit.sim.golden import (Bundle, BundleChecksumError, BundleError, BundleFormatError, BundleSchemaError,
                              BundleVersionError, forward, load_bundle, random_bundle)
from spvit.sim.golden import bundle as bundle_mod


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
def _variant(cfg: ModelConfig, **prune) -> ModelConfig:
    return dataclasses.replace(cfg, prune=dataclasses.replace(cfg.prune, **prune)).validate()


@pytest.fixture(scope="module")
def digits():
    return load_config("digits")


@pytest.fixture(scope="module")
def bundle(digits):
    return random_bundle(digits, seed=3)


@pytest.fixture(scope="module")
def saved(bundle, tmp_path_factory):
    path = bundle.save(tmp_path_factory.mktemp("bundle") / "digits.npz")
    return path, path.read_bytes()


def write_raw(path, meta: dict, arrays: dict, resign: bool = True):
    """Write a bundle file by hand; `resign` recomputes the checksum the way the exporter does."""
    meta = dict(meta)
    if resign:
        meta["checksum"] = bundle_mod.checksum(meta, arrays)
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **{bundle_mod.META_KEY: blob}, **arrays)
    return path


def signed_meta(b: Bundle) -> dict:
    return b.meta() | {"checksum": b.checksum()}


def expect_refusal(path, error=BundleError) -> BundleError:
    """load_bundle(path) must raise `error` (a BundleError class or tuple of them) with a readable message."""
    want = " or ".join(e.__name__ for e in (error if isinstance(error, tuple) else (error,)))
    try:
        load_bundle(path)
    except BundleError as exc:
        assert isinstance(exc, error), f"expected {want}, got {type(exc).__name__}: {exc}"
        assert_readable(exc)
        return exc
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"load_bundle leaked {type(exc).__module__}.{type(exc).__name__}: {exc!r} (expected {want})")
    pytest.fail(f"load_bundle accepted a bad bundle (expected {want})")


def assert_readable(exc: BaseException):
    msg = str(exc)
    assert msg.strip(), "empty message"
    assert "\n" not in msg and "Traceback" not in msg, msg
    # no numpy / zipfile / zlib exception chained underneath (raise ... from None)
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__), repr(exc.__context__)


def assert_same_bundle(a: Bundle, b: Bundle):
    assert a.config == b.config
    assert a.fracs == b.fracs and a.scalars == b.scalars
    assert sorted(a.arrays) == sorted(b.arrays)
    for name in a.arrays:
        assert a.arrays[name].dtype == b.arrays[name].dtype, name
        assert a.arrays[name].shape == b.arrays[name].shape, name
        assert np.array_equal(a.arrays[name], b.arrays[name]), name
    assert a.checksum() == b.checksum()


def assert_same_trace(t1, t2):
    """Every field of the two Traces (logits, and each per-block / per-stage list) is identical."""
    for f in dataclasses.fields(t1):
        a, b = getattr(t1, f.name), getattr(t2, f.name)
        if isinstance(a, list):
            assert len(a) == len(b), f.name
            for i, (u, v) in enumerate(zip(a, b)):
                assert np.array_equal(u, v), f"{f.name}[{i}]"
        else:
            assert np.array_equal(a, b), f.name


# ---------------------------------------------------------------------------------------------------------
# round trip
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["spvit-topk", "spvit-threshold", "hard-pruning", "asvit", "none"])
def test_round_trip(digits, variant, tmp_path):
    cfg = {"spvit-topk": digits, "spvit-threshold": _variant(digits, select="threshold"),
           "hard-pruning": _variant(digits, package=False), "asvit": _variant(digits, score="asvit"),
           "none": _variant(digits, score="none")}[variant]
    original = random_bundle(cfg, seed=11)
    path = original.save(tmp_path / "sub" / "b.npz")  # parent folders are created
    loaded = load_bundle(path)
    assert_same_bundle(original, loaded)
    images = np.random.default_rng(5).integers(-128, 128, (2, cfg.in_chans, cfg.img_size, cfg.img_size))
    assert_same_trace(forward(original, images), forward(loaded, images))
    # and saving the loaded bundle again gives the same contents
    again = load_bundle(loaded.save(tmp_path / "again.npz"))
    assert_same_bundle(original, again)


def test_round_trip_small_deit(tmp_path):
    cfg = dataclasses.replace(load_config("deit_tiny"), img_size=32, depth=4, name="deit_mini",
                              prune=dataclasses.replace(load_config("deit_tiny").prune, after_blocks=(1, 2, 3))).validate()
    original = random_bundle(cfg, seed=1)
    loaded = load_bundle(original.save(tmp_path / "b.npz"))
    assert_same_bundle(original, loaded)
    images = np.random.default_rng(0).integers(-128, 128, (1, 3, 32, 32))
    assert_same_trace(forward(original, images), forward(loaded, images))


def test_random_bundle_is_deterministic(digits):
    a, b, c = random_bundle(digits, 4), random_bundle(digits, 4), random_bundle(digits, 5)
    assert_same_bundle(a, b)
    assert a.checksum() != c.checksum()


def test_loaded_arrays_follow_layout(saved, digits):
    loaded = load_bundle(saved[0])
    spec = bundle_mod.layout(digits)
    assert set(loaded.arrays) == set(spec)
    for name, s in spec.items():
        a = loaded.arrays[name]
        assert a.dtype == np.dtype(s.dtype) and a.shape == s.shape
        assert s.lo <= a.min() and a.max() <= s.hi


# ---------------------------------------------------------------------------------------------------------
# unreadable files: BundleFormatError
# ---------------------------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    exc = expect_refusal(tmp_path / "nope.npz", BundleFormatError)
    assert "nope.npz" in str(exc)


def test_directory_instead_of_file(tmp_path):
    expect_refusal(tmp_path, BundleFormatError)


@pytest.mark.parametrize("kind", ["empty", "text", "random-bytes", "pickle", "npy", "zip-without-npy",
                                  "npz-without-meta", "meta-not-utf8", "meta-not-json", "meta-not-object",
                                  "meta-wrong-format", "meta-lacks-keys"])
def test_not_a_bundle(tmp_path, kind):
    path = tmp_path / "x.npz"
    rng = np.random.default_rng(0)

    def npz(meta_bytes=None, **arrays):
        if meta_bytes is not None:
            arrays[bundle_mod.META_KEY] = np.frombuffer(meta_bytes, dtype=np.uint8)
        np.savez(path, **arrays)

    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("model: digits\n" * 20)
    elif kind == "random-bytes":
        path.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"cls_token": [1, 2, 3]}))
    elif kind == "npy":  # a plain .npy array, not an .npz archive
        with open(path, "wb") as fh:
            np.save(fh, np.arange(10))
    elif kind == "zip-without-npy":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "hello")
    elif kind == "npz-without-meta":
        npz(cls_token=np.zeros((1, 1, 64), np.int8))
    elif kind == "meta-not-utf8":
        npz(b"\xff\xfe\x00{")
    elif kind == "meta-not-json":
        npz(b"{format: spvit-bundle")
    elif kind == "meta-not-object":
        npz(b"[1, 2, 3]")
    elif kind == "meta-wrong-format":
        npz(json.dumps({"format": "something-else", "format_version": 1}).encode())
    elif kind == "meta-lacks-keys":
        npz(json.dumps({"format": bundle_mod.FORMAT, "format_version": bundle_mod.FORMAT_VERSION}).encode())
    expect_refusal(path, BundleFormatError)


def _cut_points(n):
    return sorted({0, 1, 4, 22, 30, 100, 1000, n // 4, n // 2, 3 * n // 4, n - 100, n - 23, n - 22, n - 1})


def test_truncated(saved, tmp_path):
    path, raw = saved
    for cut in _cut_points(len(raw)):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(raw[:cut])
        exc = expect_refusal(bad, BundleFormatError)
        assert bad.name in str(exc)


def test_flipped_byte_in_the_middle(saved, tmp_path):
    path, raw = saved
    bad = bytearray(raw)
    bad[len(raw) // 2] ^= 0xFF
    (tmp_path / "mid.npz").write_bytes(bytes(bad))
    exc = expect_refusal(tmp_path / "mid.npz", (BundleFormatError, BundleChecksumError))
    assert isinstance(exc, BundleError)


def test_flipped_bytes_anywhere(saved, tmp_path, bundle):
    """A flipped byte anywhere is refused (format or checksum error) or, where it hits bytes the zip reader
    ignores (a local header's time or CRC copy), loads the identical bundle. Nothing else may escape."""
    path, raw = saved
    leaks, accepted_different = [], []
    positions = sorted(set(np.linspace(0, len(raw) - 1, 211).astype(int).tolist()) | {40, 72, 100, 200})
    for pos in positions:
        bad = bytearray(raw)
        bad[pos] ^= 0xFF
        f = tmp_path / "flip.npz"
        f.write_bytes(bytes(bad))
        try:
            got = load_bundle(f)
        except (BundleFormatError, BundleChecksumError) as exc:
            assert_readable(exc)
            continue
        except Exception as exc:  # noqa: BLE001
            leaks.append(f"byte {pos}: {type(exc).__module__}.{type(exc).__name__}: {exc}")
            continue
        if got.checksum() != bundle.checksum():
            accepted_different.append(pos)
    assert not accepted_different, f"corrupted bundles accepted with different contents at bytes {accepted_different}"
    assert not leaks, f"{len(leaks)}/{len(positions)} flipped bytes leak non-BundleError exceptions, e.g.:\n" + \
        "\n".join(leaks[:8])


# ---------------------------------------------------------------------------------------------------------
# version
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [0, 2, 99, "1", None, 1.5, True, "missing"])
def test_wrong_format_version(bundle, tmp_path, version):
    meta = bundle.meta()
    if version == "missing":
        del meta["format_version"]
    else:
        meta["format_version"] = version
    path = write_raw(tmp_path / "v.npz", meta, bundle.arrays)
    exc = expect_refusal(path, BundleVersionError)
    assert "version" in str(exc)


# ---------------------------------------------------------------------------------------------------------
# checksum: edits without re-signing
# ---------------------------------------------------------------------------------------------------------
def _edits(bundle):
    arrays = dict(bundle.arrays)
    w = arrays["blocks.0.attn.qkv.weight"].copy()
    w.flat[17] = 1 if w.flat[17] != 1 else 2
    yield "array value", signed_meta(bundle), arrays | {"blocks.0.attn.qkv.weight": w}
    yield "array dropped", signed_meta(bundle), {k: v for k, v in arrays.items() if k != "head.bias"}
    yield "array added", signed_meta(bundle), arrays | {"extra": np.zeros(3, np.int8)}
    yield "array dtype", signed_meta(bundle), arrays | {"head.bias": arrays["head.bias"].astype(np.int64)}
    yield "array reshaped", signed_meta(bundle), arrays | {"cls_token": arrays["cls_token"].reshape(1, 64, 1)}
    m = copy.deepcopy(signed_meta(bundle)); m["fracs"]["input"] += 1
    yield "frac", m, arrays
    m = copy.deepcopy(signed_meta(bundle)); m["scalars"]["stages.0.k"] -= 1
    yield "scalar", m, arrays
    m = copy.deepcopy(signed_meta(bundle)); m["config"]["num_classes"] = 11
    yield "config", m, arrays
    m = copy.deepcopy(signed_meta(bundle)); m["checksum"] = "0" * 64
    yield "checksum field", m, arrays


def test_edits_without_checksum_update(bundle, tmp_path):
    for label, meta, arrays in _edits(bundle):
        path = write_raw(tmp_path / "edit.npz", meta, arrays, resign=False)
        exc = expect_refusal(path, BundleChecksumError)
        assert "checksum" in str(exc), label


def test_checksum_not_a_string(bundle, tmp_path):
    meta = signed_meta(bundle) | {"checksum": 12345}
    expect_refusal(write_raw(tmp_path / "c.npz", meta, bundle.arrays, resign=False), BundleChecksumError)


def test_checksum_covers_everything(bundle):
    """Any change of an array's bytes, dtype, shape or name, or of the metadata, changes the checksum."""
    base = bundle_mod.checksum(bundle.meta(), bundle.arrays)
    for label, meta, arrays in _edits(bundle):
        if label == "checksum field":
            assert bundle_mod.checksum(meta, arrays) == base  # the checksum field itself is not hashed
        else:
            assert bundle_mod.checksum(meta, arrays) != base, label
    a = dict(bundle.arrays)
    a["pos_embed.renamed"] = a.pop("pos_embed")
    assert bundle_mod.checksum(bundle.meta(), a) != base


# ---------------------------------------------------------------------------------------------------------
# schema: correctly re-signed, but not what the config describes
# ---------------------------------------------------------------------------------------------------------
def _schema_edits(bundle):
    a = dict(bundle.arrays)
    yield "wrong shape", a | {"head.weight": np.zeros((10, 63), np.int8)}
    yield "wrong dtype (int16 weight)", a | {"head.weight": a["head.weight"].astype(np.int16)}
    yield "wrong dtype (float)", a | {"blocks.1.norm2.weight": a["blocks.1.norm2.weight"].astype(np.float32)}
    yield "wrong dtype (uint8 signed lut)", a | {"blocks.0.mlp.act.lut": a["blocks.0.mlp.act.lut"].view(np.uint8)}
    w = a["blocks.2.mlp.fc1.weight"].copy(); w[0, 0] = -128  # narrow-range weights: -127..127
    yield "weight -128", a | {"blocks.2.mlp.fc1.weight": w}
    bias = a["head.bias"].copy(); bias[3] = 2**30 + 1
    yield "bias beyond 2**30", a | {"head.bias": bias}
    bias = a["blocks.0.attn.qkv.bias"].copy(); bias[0] = -(2**31)
    yield "bias at int32 min", a | {"blocks.0.attn.qkv.bias": bias}
    yield "missing array", {k: v for k, v in a.items() if k != "stages.1.selector.se2.bias"}
    yield "extra array", a | {"blocks.6.norm1.weight": np.zeros(64, np.int16)}
    yield "scalar array instead of vector", a | {"head.bias": np.int32(0)}


def test_schema_errors_with_valid_checksum(bundle, tmp_path):
    for label, arrays in _schema_edits(bundle):
        path = write_raw(tmp_path / "s.npz", bundle.meta(), arrays)
        exc = expect_refusal(path, BundleSchemaError)
        assert str(exc), label


def _cfg_edit(change):
    def edit(meta):
        change(meta["config"])
    return edit


BAD_CONFIGS = {
    "heads do not divide dim": _cfg_edit(lambda c: c.update(num_heads=3)),
    "unknown field": _cfg_edit(lambda c: c.update(colour="blue")),
    "missing field": _cfg_edit(lambda c: c.pop("embed_dim")),
    "string depth": _cfg_edit(lambda c: c.update(depth="6")),
    "null embed_dim": _cfg_edit(lambda c: c.update(embed_dim=None)),
    "fractional depth": _cfg_edit(lambda c: c.update(depth=6.5)),
    "zero patch size": _cfg_edit(lambda c: c.update(patch_size=0)),
    "zero heads": _cfg_edit(lambda c: c.update(num_heads=0)),
    "unknown score": _cfg_edit(lambda c: c["prune"].update(score="random")),
    "unknown select": _cfg_edit(lambda c: c["prune"].update(select="bottomk")),
    "after_blocks not a list": _cfg_edit(lambda c: c["prune"].update(after_blocks=2)),
    "after_blocks out of depth": _cfg_edit(lambda c: c["prune"].update(after_blocks=[2, 6])),
    "keep ratio > 1": _cfg_edit(lambda c: c["prune"].update(keep_ratios=[1.5, 0.25])),
    "prune not an object": _cfg_edit(lambda c: c.update(prune=["spvit"])),
    "config not an object": lambda m: m.update(config=["digits"]),
    "other model's config": lambda m: m.update(config=load_config("deit_tiny").to_dict()),
    "more classes than arrays": _cfg_edit(lambda c: c.update(num_classes=11)),
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_bad_config_in_meta(bundle, tmp_path, name):
    meta = copy.deepcopy(bundle.meta())
    BAD_CONFIGS[name](meta)
    path = write_raw(tmp_path / "cfg.npz", meta, bundle.arrays)
    expect_refusal(path, BundleSchemaError)


def _meta_edit(kind, key, value):
    def edit(meta):
        if value is _DROP:
            del meta[kind][key]
        else:
            meta[kind][key] = value
    return edit


_DROP = object()
BAD_FRACS_SCALARS = {
    "frac above 16": _meta_edit("fracs", "input", 17),
    "frac below -8": _meta_edit("fracs", "blocks.0.attn.q", -9),
    "weight frac far out": _meta_edit("fracs", "head.weight", 40),
    "frac missing": _meta_edit("fracs", "embed.out", _DROP),
    "frac extra": _meta_edit("fracs", "blocks.9.out", 4),
    "frac not a number": _meta_edit("fracs", "input", "five"),
    "frac null": _meta_edit("fracs", "input", None),
    "frac not an integer": _meta_edit("fracs", "input", 4.5),
    "k zero": _meta_edit("scalars", "stages.0.k", 0),
    "k above num_patches": _meta_edit("scalars", "stages.1.k", 65),
    "threshold above 65535": _meta_edit("scalars", "stages.0.threshold", 65536),
    "threshold negative": _meta_edit("scalars", "stages.1.threshold", -1),
    "eps_term zero": _meta_edit("scalars", "blocks.0.norm1.eps_term", 0),
    "scalar missing": _meta_edit("scalars", "norm.eps_term", _DROP),
    "scalar extra": _meta_edit("scalars", "stages.2.k", 3),
    "fracs not an object": lambda m: m.update(fracs=[5, 4]),
}


@pytest.mark.parametrize("name", list(BAD_FRACS_SCALARS))
def test_bad_fracs_and_scalars(bundle, tmp_path, name):
    meta = copy.deepcopy(bundle.meta())
    BAD_FRACS_SCALARS[name](meta)
    path = write_raw(tmp_path / "fs.npz", meta, bundle.arrays)
    expect_refusal(path, BundleSchemaError)


# ---------------------------------------------------------------------------------------------------------
# Bundle(...) validates on construction
# ---------------------------------------------------------------------------------------------------------
def test_constructor_accepts_valid(bundle):
    again = Bundle(bundle.config, dict(bundle.arrays), dict(bundle.fracs), dict(bundle.scalars))
    assert again.checksum() == bundle.checksum()


def test_constructor_rejects_bad_arrays(bundle):
    for label, arrays in _schema_edits(bundle):
        with pytest.raises(BundleSchemaError) as info:
            Bundle(bundle.config, arrays, dict(bundle.fracs), dict(bundle.scalars))
        assert_readable(info.value)


@pytest.mark.parametrize("name", [n for n in BAD_FRACS_SCALARS if n != "fracs not an object"])
def test_constructor_rejects_bad_fracs_and_scalars(bundle, name):
    meta = copy.deepcopy(bundle.meta())
    BAD_FRACS_SCALARS[name](meta)
    try:
        Bundle(bundle.config, dict(bundle.arrays), meta["fracs"], meta["scalars"])
    except BundleSchemaError as exc:
        assert_readable(exc)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Bundle() leaked {type(exc).__name__}: {exc}")
    else:
        pytest.fail("Bundle() accepted bad fracs / scalars")


def test_constructor_rejects_arrays_of_another_config(bundle):
    other = _variant(bundle.config, score="asvit")  # no selector arrays in its layout
    with pytest.raises(BundleSchemaError, match="unexpected"):
        Bundle(other, dict(bundle.arrays), dict(bundle.fracs), dict(bundle.scalars))


def test_constructor_rejects_oversized_reduction(bundle):
    """§1.2: a dot product longer than MAX_REDUCTION could overflow int32."""
    big = dataclasses.replace(bundle.config, mlp_ratio=1100.0, name="huge")  # mlp_hidden = 70400 > 65535
    b = random_bundle(dataclasses.replace(bundle.config, mlp_ratio=1.0), 0)
    arrays = dict(b.arrays)
    for i in range(big.depth):
        arrays[f"blocks.{i}.mlp.fc1.weight"] = np.zeros((big.mlp_hidden, 64), np.int8)
        arrays[f"blocks.{i}.mlp.fc1.bias"] = np.zeros(big.mlp_hidden, np.int32)
        arrays[f"blocks.{i}.mlp.fc2.weight"] = np.zeros((64, big.mlp_hidden), np.int8)
    with pytest.raises(BundleSchemaError, match="overflow"):
        Bundle(big, arrays, dict(b.fracs), dict(b.scalars))
