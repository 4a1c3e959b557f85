#!/usr/bin/env python3
"""Writes the float32 -> {bf16, f16, f8_e4m3fn, f8_e5m2} reference used by tests/unit/test_cast.cpp.

The C++ casts in kernels/cast.hpp promise the bits of `np.float32(x).astype(dtype)` with numpy's
float16 and ml_dtypes' bfloat16 / float8 types. This script asks numpy + ml_dtypes for those bits
on >= 10^7 inputs (random bit patterns, random values in the narrow formats' ranges, and every
rounding tie and overflow boundary of each format, +-1 ulp) and on every narrow bit pattern
widened back to float32.

Usage: make_cast_reference.py OUT_PATH

File layout (little-endian, no padding):
  b"BPCAST01", uint64 n
  uint32[n] inputs (float32 bits)
  uint16[n] bf16, uint16[n] f16, uint8[n] f8_e4m3fn, uint8[n] f8_e5m2
  uint32[65536] bf16 -> f32, uint32[65536] f16 -> f32, uint32[256] e4m3fn -> f32,
  uint32[256] e5m2 -> f32
"""
import os
import sys
import warnings

import ml_dtypes
import numpy as np

N_RANDOM = 10_000_000
FORMATS = [ml_dtypes.bfloat16, np.float16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]


def as_f32_bits(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def neighbours(bits):
    """bits and the float32 patterns one ulp on either side (same sign), for both signs."""
    bits = bits.astype(np.uint32) & np.uint32(0x7FFFFFFF)
    out = [bits, bits + np.uint32(1), bits - np.uint32(1)]
    out = np.concatenate(out)
    out = out[out < np.uint32(0x7F800000)]
    return np.concatenate([out, out | np.uint32(0x80000000)])


def boundaries(fmt):
    """Every finite value of fmt, every midpoint between neighbours, and one past the largest."""
    width = np.dtype(fmt).itemsize
    pats = np.arange(1 << (8 * width), dtype=np.uint16 if width == 2 else np.uint8)
    vals = pats.view(fmt).astype(np.float64)
    vals = np.unique(vals[np.isfinite(vals) & (vals >= 0)])
    mids = (vals[1:] + vals[:-1]) / 2
    top = vals[-1]
    # One step past the largest finite value, and the midpoint to it (the overflow ties).
    step = vals[-1] - vals[-2]
    extra = np.array([top + step / 2, top + step, top + 1.5 * step, top + 2 * step])
    allv = np.concatenate([vals, mids, extra])
    return as_f32_bits(allv.astype(np.float32))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_cast_reference.py OUT_PATH")
    out_path = sys.argv[1]
    rng = np.random.default_rng(20240611)

    specials = np.array(
        [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
         0xFF800001, 0x7FA00000, 0x7FBFFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FC12345, 0x7F802000,
         0x7F801FFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x80800000, 0x007FFFFF, 0x807FFFFF,
         0x00000001, 0x80000001, 0x3F800000, 0xBF800000],
        dtype=np.uint32)
    bf16_ties = (np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)) | np.uint32(0x8000)
    parts = [specials, neighbours(bf16_ties)]
    parts += [neighbours(boundaries(f)) for f in FORMATS[1:]]
    # Half random bit patterns, half values spread over the narrow formats' exponent ranges.
    half = N_RANDOM // 2
    parts.append(rng.integers(0, 1 << 32, size=half, dtype=np.uint64).astype(np.uint32))
    exps = rng.integers(95, 150, size=N_RANDOM - half, dtype=np.uint32)
    mant = rng.integers(0, 1 << 23, size=N_RANDOM - half, dtype=np.uint32)
    sign = rng.integers(0, 2, size=N_RANDOM - half, dtype=np.uint32) << np.uint32(31)
    parts.append(sign | (exps << np.uint32(23)) | mant)
    inputs = np.concatenate(parts).astype(np.uint32)
    f = inputs.view(np.float32)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        narrowed = [f.astype(fmt) for fmt in FORMATS]
        widened = []
        for fmt in FORMATS:
            width = np.dtype(fmt).itemsize
            pats = np.arange(1 << (8 * width), dtype=np.uint16 if width == 2 else np.uint8)
            widened.append(pats.view(fmt).astype(np.float32).view(np.uint32))

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(b"BPCAST01")
        fh.write(np.uint64(inputs.size).tobytes())
        fh.write(inputs.astype("<u4").tobytes())
        for a in narrowed:
            fh.write(a.view(np.uint16 if a.itemsize == 2 else np.uint8).astype(
                "<u2" if a.itemsize == 2 else "u1").tobytes())
        for w in widened:
            fh.write(w.astype("<u4").tobytes())
    os.replace(tmp, out_path)  # appears atomically: a half-written file is never read
    print(f"wrote {inputs.size} inputs to {out_path}")


if __name__ == "__main__":
    main()
