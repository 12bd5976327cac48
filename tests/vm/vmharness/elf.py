"""Just enough ELF reading to copy a dynamically linked program of either architecture
into the initramfs: its interpreter, its DT_NEEDED libraries and their closure. `ldd`
would run the program, which cannot work for a foreign (arm64) binary."""

import os
import struct

from .errors import PrereqError

PT_INTERP, PT_DYNAMIC, DT_NEEDED, DT_STRTAB = 3, 2, 1, 5


class Elf:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise PrereqError(f"{path}: not a 64-bit little-endian ELF file")
        self.machine = struct.unpack_from("<H", data, 18)[0]
        phoff, = struct.unpack_from("<Q", data, 32)
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
        self.interp = None
        self.needed = []
        loads, dynamic = [], None
        for i in range(phnum):
            p_type, _flags, off, vaddr, _paddr, filesz = struct.unpack_from(
                "<IIQQQQ", data, phoff + i * phentsize)
            if p_type == PT_INTERP:
                self.interp = data[off:off + filesz].rstrip(b"\0").decode()
            elif p_type == PT_DYNAMIC:
                dynamic = (off, filesz)
            elif p_type == 1:  # PT_LOAD: maps virtual addresses back to file offsets
                loads.append((vaddr, off, filesz))
        if dynamic is None:
            return
        entries = [struct.unpack_from("<qQ", data, dynamic[0] + j)
                   for j in range(0, dynamic[1], 16)]
        strtab = next((v for t, v in entries if t == DT_STRTAB), None)
        if strtab is None:
            raise PrereqError(f"{path}: dynamic section without DT_STRTAB")
        base = next((off + strtab - va for va, off, sz in loads if va <= strtab < va + sz), None)
        if base is None:
            raise PrereqError(f"{path}: DT_STRTAB outside every PT_LOAD segment")
        for tag, val in entries:
            if tag == DT_NEEDED:
                end = data.index(b"\0", base + val)
                self.needed.append(data[base + val:end].decode())

    @property
    def is_static(self):
        return self.interp is None and not self.needed


def resolve_in_root(root, path):
    """Follow symlinks of PATH (absolute inside ROOT) without leaving ROOT; returns the
    host path of the final file or None."""
    for _ in range(40):
        host = os.path.join(root, path.lstrip("/"))
        if not os.path.lexists(host):
            # A parent may be a symlink (/lib64 -> usr/lib64 on merged-/usr hosts).
            head, tail = os.path.split(path)
            if head == path:
                return None
            real_head = resolve_in_root(root, head)
            if real_head is None:
                return None
            rel = os.path.relpath(real_head, root)
            path = "/" + os.path.join(rel, tail)
            host = os.path.join(root, path.lstrip("/"))
            if not os.path.lexists(host):
                return None
        if not os.path.islink(host):
            return host
        target = os.readlink(host)
        path = target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
        path = os.path.normpath(path)
    return None


def closure(root, program, triplet, machine):
    """{guest path: host file} for PROGRAM (a path inside ROOT) and every library it
    loads, found in ROOT's multiarch and plain library dirs. Unresolved sonames are
    returned separately so the caller can fetch the packages that ship them."""
    dirs = [f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib", "/usr/lib", "/lib64", "/usr/lib64"]
    files, missing, todo, seen = {}, set(), [program], set()
    while todo:
        guest = todo.pop()
        if guest in seen:
            continue
        seen.add(guest)
        host = resolve_in_root(root, guest)
        if host is None:
            missing.add(os.path.basename(guest))
            continue
        elf = Elf(host)
        if elf.machine != machine:
            raise PrereqError(f"{host}: ELF machine {elf.machine}, expected {machine}")
        files[guest] = host
        if elf.interp:
            todo.append(elf.interp)
        for soname in elf.needed:
            found = next((f"{d}/{soname}" for d in dirs
                          if resolve_in_root(root, f"{d}/{soname}")), None)
            if found is None:
                missing.add(soname)
            else:
                todo.append(found)
    return files, missing
