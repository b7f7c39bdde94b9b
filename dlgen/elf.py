"""A small reader of ELF object files: section sizes by kind and symbol sizes, for
`dlgen size` (32- and 64-bit, either byte order; no dependency).

Sections are classified the way GNU ``size`` (Berkeley format) counts them: allocated and
not in the file (NOBITS) -> bss; allocated and writable -> data; allocated and executable ->
code; other allocated sections (.rodata*, .ARM.exidx...) -> rodata. ``code + rodata`` is
``size``'s "text".
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

SHT_SYMTAB, SHT_NOBITS = 2, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
SHN_UNDEF, SHN_LORESERVE, SHN_COMMON = 0, 0xFF00, 0xFFF2
STT_OBJECT, STT_FUNC = 1, 2
KINDS = ("code", "rodata", "data", "bss")


class NotElf(ValueError):
    pass


@dataclass
class Section:
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    entsize: int

    @property
    def kind(self) -> str | None:
        if not self.flags & SHF_ALLOC:
            return None
        if self.type == SHT_NOBITS:
            return "bss"
        if self.flags & SHF_WRITE:
            return "data"
        return "code" if self.flags & SHF_EXECINSTR else "rodata"


@dataclass
class Symbol:
    name: str
    size: int
    type: int
    kind: str | None           # the kind of its section ("bss" for COMMON), None if undefined


@dataclass
class ElfObject:
    path: Path
    sections: list[Section] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)

    def sizes(self) -> dict[str, int]:
        """Bytes per kind: code, rodata, data, bss (COMMON symbols count as bss)."""
        out = dict.fromkeys(KINDS, 0)
        for s in self.sections:
            if s.kind:
                out[s.kind] += s.size
        out["bss"] += sum(sym.size for sym in self.symbols if sym.kind == "bss-common")
        return out


def read_elf(path: Path) -> ElfObject:
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        raise NotElf(f"{path} is not an ELF file")
    wide = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if wide:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
        fmt = end + "IIQQQQIIQQ"
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)
        fmt = end + "IIIIIIIIII"
    raw = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    names = raw[shstrndx][4]

    def cstr(table_offset: int, index: int) -> str:
        start = table_offset + index
        return data[start:data.index(b"\0", start)].decode("utf-8", "replace")

    obj = ElfObject(Path(path))
    for name, typ, flags, _addr, offset, size, link, _info, _align, entsize in raw:
        obj.sections.append(Section(cstr(names, name), typ, flags, offset, size, link, entsize))
    for sec in obj.sections:
        if sec.type == SHT_SYMTAB:
            obj.symbols += _symbols(data, sec, obj.sections, end, wide, cstr)
    return obj


def _symbols(data: bytes, symtab: Section, sections: list[Section], end: str, wide: bool,
             cstr) -> list[Symbol]:
    strtab = sections[symtab.link].offset
    out = []
    for off in range(symtab.offset, symtab.offset + symtab.size, symtab.entsize):
        if wide:
            name, info, _other, shndx, _value, size = struct.unpack_from(end + "IBBHQQ", data,
                                                                         off)
        else:
            name, _value, size, info, _other, shndx = struct.unpack_from(end + "IIIBBH", data,
                                                                         off)
        if shndx == SHN_COMMON:
            kind = "bss-common"
        elif shndx == SHN_UNDEF or shndx >= SHN_LORESERVE:
            kind = None
        else:
            kind = sections[shndx].kind
        out.append(Symbol(cstr(strtab, name), size, info & 0xF, kind))
    return out
