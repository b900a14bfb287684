#!/usr/bin/env python3
"""Minimal .npy writer and reader for the text tests, written from the format spec with the
standard library only (no numpy), so they check Tessera's .npy code against an independent one.

  npy.py write OUT.npy DESCR SHAPE V1 V2 ...   e.g. write x.npy '<f4' 2,3 1 2 3 4 5 6
                                               (SHAPE '' is a scalar)
  npy.py read FILE.npy                         prints `DESCR SHAPE: v1 v2 ...`
"""
import ast
import struct
import sys

FORMATS = {"<f4": "<f", "<f8": "<d", "<f2": "<e", "<i4": "<i", "<i8": "<q", "|b1": "?"}


def write(path, descr, shape_text, values):
    shape = tuple(int(d) for d in shape_text.split(",") if d)
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    fmt = FORMATS[descr]
    conv = float if descr[1] == "f" else (lambda v: v in ("1", "true", "True")) if descr == "|b1" else int
    data = b"".join(struct.pack(fmt, conv(v)) for v in values)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:6] == b"\x93NUMPY", "bad magic"
    major = raw[6]
    n = struct.unpack("<H", raw[8:10])[0] if major == 1 else struct.unpack("<I", raw[8:12])[0]
    start = 10 if major == 1 else 12
    header = ast.literal_eval(raw[start:start + n].decode())
    fmt = FORMATS[header["descr"]]
    size = struct.calcsize(fmt)
    data = raw[start + n:]
    values = [struct.unpack(fmt, data[i:i + size])[0] for i in range(0, len(data), size)]
    shape = ",".join(str(d) for d in header["shape"])
    print("%s [%s]: %s" % (header["descr"], shape, " ".join(repr(v) for v in values)))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        read(sys.argv[2])
