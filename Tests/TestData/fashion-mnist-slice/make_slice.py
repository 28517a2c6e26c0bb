#!/usr/bin/env python3
"""Regenerates this folder: the first 2000 training and 500 test examples of Fashion-MNIST.

Source: the Debian/Ubuntu package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), i.e. the
original Zalando Research files (MIT licence, https://github.com/zalandoresearch/fashion-mnist).
Output is byte-for-byte reproducible (gzip mtime 0).  Usage: python3 make_slice.py [SOURCE_DIR]
"""
import gzip, os, struct, sys

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
SLICES = {"train": 2000, "t10k": 500}

for prefix, count in SLICES.items():
    for kind, rank in (("images", 3), ("labels", 1)):
        name = f"{prefix}-{kind}-idx{rank}-ubyte.gz"
        with gzip.open(os.path.join(SOURCE, name), "rb") as f:
            data = f.read()
        magic, n = struct.unpack(">II", data[:8])
        dims = list(struct.unpack(">" + "I" * (rank - 1), data[8:8 + 4 * (rank - 1)]))
        header_len = 4 + 4 * rank
        per_item = 1
        for d in dims:
            per_item *= d
        body = data[header_len:header_len + count * per_item]
        header = struct.pack(">II", magic, count) + struct.pack(">" + "I" * len(dims), *dims)
        with open(os.path.join(HERE, name), "wb") as out:
            with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
                gz.write(header + body)
        print(name, count, dims)
