#!/usr/bin/env python3
"""Exit 0 when every ELF file given is statically linked (no program
interpreter, no DT_NEEDED shared library), else print why and exit 1.
A static-pie binary has a PT_DYNAMIC segment for self-relocation but
needs nothing at run time, which is what a `FROM scratch` image requires."""

import struct
import sys

PT_DYNAMIC, PT_INTERP = 2, 3
DT_NULL, DT_NEEDED = 0, 1


def check(path: str) -> str | None:
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        return "not an ELF file"
    if data[4] != 2 or data[5] != 1:
        return "not a 64-bit little-endian ELF"
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        off = phoff + i * phentsize
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, off)
        if p_type == PT_INTERP:
            interp = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode(errors="replace")
            return f"dynamically linked (interpreter {interp})"
        if p_type == PT_DYNAMIC:
            for j in range(0, p_filesz, 16):
                tag, _val = struct.unpack_from("<qQ", data, p_offset + j)
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    return "needs shared libraries (DT_NEEDED)"
    return None


def main() -> int:
    bad = 0
    for path in sys.argv[1:]:
        why = check(path)
        if why:
            print(f"{path}: {why}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
