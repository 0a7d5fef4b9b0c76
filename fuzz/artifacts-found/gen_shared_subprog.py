# Builds an eBPF ELF object: N global XDP programs in section "xdp", each
# `call s; exit`, and one static function `s` of M instructions they all call
# (pc-relative pseudo calls, no relocations). Usage: gen_shared_subprog.py N M OUT
import struct, sys

n, m, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def insn(op, dst=0, src=0, off=0, imm=0):
    return struct.pack('<BBhi', op, (src << 4) | dst, off, imm)

code = b''.join(insn(0xb7) for _ in range(m - 1)) + insn(0x95)
for i in range(n):
    slot = m + 2 * i
    code += insn(0x85, src=1, imm=-(slot + 1)) + insn(0x95)

strtab = bytearray(b'\0')
def name(s):
    off = len(strtab); strtab.extend(s.encode() + b'\0'); return off
n_xdp, n_symtab, n_strtab, n_s = name('xdp'), name('.symtab'), name('.strtab'), name('s')
syms = [b'\0' * 24, struct.pack('<IBBHQQ', n_s, 0x02, 0, 1, 0, m * 8)]
for i in range(n):
    syms.append(struct.pack('<IBBHQQ', name('p%d' % i), 0x12, 0, 1, (m + 2 * i) * 8, 16))
symtab = b''.join(syms)

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
         sh(n_symtab, 2, 0, off_sym, len(symtab), link=3, info=2, entsize=24),
         sh(n_strtab, 3, 0, off_str, len(strtab), align=1)]
ehdr = b'\x7fELF\x02\x01\x01\x00' + b'\0' * 8
ehdr += struct.pack('<HHIQQQIHHHHHH', 1, 247, 1, 0, 0, off_sh, 0, 64, 0, 0, 64, len(shdrs), 3)
data = ehdr + body + b''.join(shdrs)
open(out, 'wb').write(data)
print(out, len(data), 'bytes')
