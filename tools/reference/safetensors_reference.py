#!/usr/bin/python3
"""Golden files for stablerep-core's SafeTensors and Npy tests.

Writes, with numpy + struct + json only (the safetensors package is not used, so the file is an
independent rendering of the format):

  golden/safetensors/reference.safetensors  one tensor of each dtype, a scalar, a zero-size
                                            tensor and metadata; header keys deliberately in a
                                            different order from the data, as allowed by the format
  golden/safetensors/<name>.npy             each tensor's values (F16/BF16 as float32)
  golden/npy/*.npy                          numpy.save output for each dtype/order/version
  golden/npy/manifest.txt                   name, descr, shape and C-order values of each .npy

Run from the repository root:  /usr/bin/python3 tools/reference/safetensors_reference.py
"""
import json
import os
import struct

import numpy as np

ROOT = os.path.join("stablerep-core", "src", "test", "resources", "golden")


def bf16_bits(values):
    """float32 -> bfloat16 bit patterns, rounding to nearest even (as torch does)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_values(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def safetensors_reference():
    out = os.path.join(ROOT, "safetensors")
    os.makedirs(out, exist_ok=True)
    bf_bits = bf16_bits([1.0, -2.5, 3.14159265, 1e-3, 65504.0, -0.0])
    # (name, dtype, raw little-endian array, expected values for the .npy)
    f16 = np.array([[0.5, -1.25, 65504.0], [6.1035e-05, 5.96e-08, -0.0]], dtype="<f2")
    tensors = [
        ("f16", "F16", f16, f16.astype(np.float32)),
        ("bf16", "BF16", bf_bits.astype("<u2").reshape(2, 3), bf16_values(bf_bits).reshape(2, 3)),
        ("f32", "F32", (np.arange(8, dtype="<f4").reshape(2, 2, 2) * 0.1 - 0.3), None),
        ("f64", "F64", np.array([np.pi, -1e300, 5e-324], dtype="<f8"), None),
        ("i32", "I32", np.array([[-2147483648, -1], [0, 2147483647]], dtype="<i4"), None),
        ("i64", "I64", np.array([-(2**63), 2**40 + 3, 2**63 - 1], dtype="<i8"), None),
        ("u8", "U8", np.array([0, 1, 127, 128, 255], dtype="u1"), None),
        ("bool", "BOOL", np.array([True, False, False, True], dtype="?"), None),
        ("scalar", "F32", np.array(3.25, dtype="<f4"), None),
        ("empty", "F32", np.zeros((0, 4), dtype="<f4"), None),
    ]
    # Data section in reverse order of the header keys.
    offsets, data, pos = {}, b"", 0
    for name, _, raw, _ in reversed(tensors):
        b = raw.tobytes(order="C")
        offsets[name] = [pos, pos + len(b)]
        data += b
        pos += len(b)
    header = {"__metadata__": {"format": "pt", "source": "safetensors_reference.py", "unicode": "\u00e9\u4e2d"}}
    for name, dtype, raw, _ in tensors:
        header[name] = {"dtype": dtype, "shape": list(raw.shape), "data_offsets": offsets[name]}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the reference implementation pads with spaces to 8
    with open(os.path.join(out, "reference.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)
    for name, _, raw, expected in tensors:
        np.save(os.path.join(out, name + ".npy"), raw if expected is None else expected)


def npy_reference():
    out = os.path.join(ROOT, "npy")
    os.makedirs(out, exist_ok=True)
    base = np.arange(24).reshape(2, 3, 4)
    cases = {
        "f2_c": (base * 0.25 - 2).astype("<f2"),
        "f4_c": (base * 0.1 - 1).astype("<f4"),
        "f8_c": (base * np.pi).astype("<f8"),
        "i4_c": (base * 100000 - 1000000).astype("<i4"),
        "i8_c": (base * 10**15 - 2**62).astype("<i8"),
        "u1_c": (base * 11 % 256).astype("|u1"),
        "b1_c": (base % 3 == 0),
        "f4_f": np.asfortranarray((base * 0.1 - 1).astype("<f4")),
        "i8_f": np.asfortranarray(base.astype("<i8")[:, :, 1]),
        "f8_be": (base * np.e).astype(">f8"),
        "i4_be": (base - 7).astype(">i4").reshape(6, 4),
        "f4_scalar": np.array(2.5, dtype="<f4"),
        "f4_empty": np.zeros((0, 3), dtype="<f4"),
        "i8_1d": np.array([7, -8, 9], dtype="<i8"),
    }
    lines = []
    for name, arr in cases.items():
        np.save(os.path.join(out, name + ".npy"), arr)
        lines.append(describe(name, arr))
    # numpy.save picks version 1.0; also write the 2.0 and 3.0 header forms.
    for version in [(2, 0), (3, 0)]:
        name = "f4_v%d" % version[0]
        arr = (base * 0.5).astype("<f4")
        with open(os.path.join(out, name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
        lines.append(describe(name, arr))
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("# name descr fortran shape values(C order); floats as repr(float)\n")
        f.write("\n".join(lines) + "\n")


def describe(name, arr):
    fortran = arr.flags.f_contiguous and not arr.flags.c_contiguous
    shape = "x".join(str(d) for d in arr.shape) or "scalar"
    flat = np.ascontiguousarray(arr).reshape(-1)
    if arr.dtype.kind == "b":
        values = ",".join("1" if v else "0" for v in flat)
    elif arr.dtype.kind == "f":
        values = ",".join(repr(float(v)) for v in flat)
    else:
        values = ",".join(str(int(v)) for v in flat)
    return "%s %s %s %s %s" % (name, arr.dtype.str, fortran, shape, values or "-")


if __name__ == "__main__":
    safetensors_reference()
    npy_reference()
