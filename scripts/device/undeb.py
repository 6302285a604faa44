#!/usr/bin/env python3
"""Unpack a Debian package's files into a folder, as `dpkg -x DEB DIR` does (stdlib only).

  undeb.py DEB DIR

scripts/device/run.sh uses it where the device image has no dpkg (KINDS.md does not say which
distribution the image is): a .deb is an `ar` archive whose data.tar.{xz,gz,bz2} member holds the
files. Symbolic links are kept as they are, absolute ones too (zlib1g-dev's libz.so points at
/lib/x86_64-linux-gnu/libz.so.1.2.13; run.sh repoints it), which is why no extraction filter is
used: the packages are the ones prep.sh downloaded from Debian."""
import io
import sys
import tarfile


def members(data):
    """(name, bytes) of each member of an ar archive."""
    if data[:8] != b"!<arch>\n":
        raise ValueError("not an ar archive (a .deb starts with !<arch>)")
    i = 8
    while i + 60 <= len(data):
        name = data[i:i + 16].decode("ascii", "replace").strip().rstrip("/")
        size = int(data[i + 48:i + 58].decode("ascii").strip())
        yield name, data[i + 60:i + 60 + size]
        i += 60 + size + (size & 1)  # members are 2-byte aligned


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        data = f.read()
    for name, body in members(data):
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                print(f"undeb.py: {argv[0]}: {name} is zstd-compressed, which Python cannot read", file=sys.stderr)
                return 1
            with tarfile.open(fileobj=io.BytesIO(body)) as t:
                kw = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
                t.extractall(argv[1], **kw)
            return 0
    print(f"undeb.py: {argv[0]}: no data.tar member", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
