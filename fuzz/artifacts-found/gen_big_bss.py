# Builds an eBPF ELF object with one XDP program (`r0 = 0; exit`) and a
# `.bss` section (SHT_NOBITS: no bytes in the file) of SIZE bytes holding
# one global `g` of 4 bytes. Usage: gen_big_bss.py SIZE OUT
import struct, sys

size, out = int(sys.argv[1], 0), sys.argv[2]

def insn(op, dst=0, src=0, off=0, imm=0):
    return struct.pack('<BBhi', op, (src << 4) | dst, off, imm)

code = insn(0xb7) + insn(0x95)
strtab = bytearray(b'\0')
def name(s):
    off = len(strtab); strtab.extend(s.encode() + b'\0'); return off
n_xdp, n_bss, n_symtab, n_strtab = name('xdp'), name('.bss'), name('.symtab'), name('.strtab')
n_prog, n_g = name('prog'), name('g')
# local: null; globals: prog (FUNC in 1), g (OBJECT in 2)
symtab = b'\0' * 24
symtab += struct.pack('<IBBHQQ', n_prog, 0x12, 0, 1, 0, 16)
symtab += struct.pack('<IBBHQQ', n_g, 0x11, 0, 2, 0, 4)

off_code = 64
off_sym = off_code + len(code)
off_str = off_sym + len(symtab)
off_sh = (off_str + len(strtab) + 7) & ~7
body = code + symtab + bytes(strtab)
body += b'\0' * (off_sh - 64 - len(body))

def sh(name, typ, flags, off, size, link=0, info=0, align=8, entsize=0):
    return struct.pack('<IIQQQQIIQQ', name, typ, flags, 0, off, size, link, info, align, entsize)
shdrs = [b'\0' * 64,
         sh(n_xdp, 1, 6, off_code, len(code)),
         sh(n_bss, 8, 3, off_sh, size),
         sh(n_symtab, 2, 0, off_sym, len(symtab), link=4, info=1, entsize=24),
         sh(n_strtab, 3, 0, off_str, len(strtab), align=1)]
ehdr = b'\x7fELF\x02\x01\x01\x00' + b'\0' * 8
ehdr += struct.pack('<HHIQQQIHHHHHH', 1, 247, 1, 0, 0, off_sh, 0, 64, 0, 0, 64, len(shdrs), 4)
data = ehdr + body + b''.join(shdrs)
open(out, 'wb').write(data)
print(out, len(data), 'bytes')
