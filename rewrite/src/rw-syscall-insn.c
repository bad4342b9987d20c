// SPDX-License-Identifier: MIT
/*
 * An x86-64 instruction length decoder (agent side, freestanding), enough
 * to linear-sweep compiler output and hand-written libc assembly: legacy
 * prefixes, REX, the one-, two- and three-byte maps, VEX, EVEX. It only
 * needs lengths: syscall sites are found at the boundaries it gives
 * (rw-syscall.c), and a wrong length would make a site out of an operand.
 * Opcodes invalid in 64-bit mode do not decode (0), which the sweep uses
 * to notice that it is not in code. Checked against objdump on libc by
 * test/rewrite (the same boundaries everywhere objdump decodes).
 */
#include "rw-syscall.h"

#define BIT(t, i) (((t)[(i) >> 5] >> ((i)&31)) & 1u)

/* one-byte opcodes with a ModRM byte */
static const uint32_t modrm1[8] = {
    /* 00-1f */ 0x0f0f0f0f,
    /* 20-3f */ 0x0f0f0f0f,
    /* 40-5f */ 0x00000000,
    /* 60-7f */ 0x00000a0c, /* 62 (EVEX, not here), 63, 69, 6b */
    /* 80-9f */ 0x0000ffff,
    /* a0-bf */ 0x00000000,
    /* c0-df */ 0xff0f00f3, /* c0 c1 c4 c5 c6 c7, d0-d3, d8-df */
    /* e0-ff */ 0xc0c00000, /* f6 f7 fe ff */
};

/* one-byte opcodes invalid in 64-bit mode */
static const uint32_t bad1[8] = {
    /* 00-1f */ 0xc0c04000 | 0x00c0, /* 06 07 0e 16 17 1e 1f */
    /* 20-3f */ 0x80808080,          /* 27 2f 37 3f */
    /* 40-5f */ 0x00000000,
    /* 60-7f */ 0x00000003, /* 60 61 */
    /* 80-9f */ 0x04000004, /* 82 9a */
    /* a0-bf */ 0x00000000,
    /* c0-df */ 0x00704000, /* ce d4 d5 d6 */
    /* e0-ff */ 0x00000400, /* ea */
};

/* two-byte (0f xx) opcodes without a ModRM byte */
static const uint32_t nomodrm2[8] = {
    /* 00-1f */ 0x00004be0, /* 05 06 07 08 09 0b 0e */
    /* 20-3f */ 0x00ff0000, /* 30-37 */
    /* 40-5f */ 0x00000000,
    /* 60-7f */ 0x00800000, /* 77 */
    /* 80-9f */ 0x0000ffff, /* 80-8f jcc rel32 */
    /* a0-bf */ 0x00000707, /* a0 a1 a2 a8 a9 aa */
    /* c0-df */ 0x0000ff00, /* c8-cf bswap */
    /* e0-ff */ 0x00000000,
};

/* two-byte opcodes with an imm8 (also VEX/EVEX map 1) */
static int imm8_map1(uint8_t op)
{
	return (op >= 0x70 && op <= 0x73) || op == 0xa4 || op == 0xac || op == 0xba || op == 0xc2 ||
	       (op >= 0xc4 && op <= 0xc6);
}

/* ModRM, SIB and displacement at @p. @return their length, 0 if cut. */
static unsigned int modrm_len(const uint8_t *p, size_t avail)
{
	uint8_t m, mod, rm;
	unsigned int n = 1;

	if (avail < 1)
		return 0;
	m = p[0];
	mod = m >> 6;
	rm = m & 7;
	if (mod == 3)
		return 1;
	if (rm == 4) {
		if (avail < 2)
			return 0;
		n++;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4; /* rip-relative */
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n;
}

unsigned int bpftime_rw_sc_insn_len(const uint8_t *p, size_t avail)
{
	struct bpftime_rw_sc_insn d;

	return bpftime_rw_sc_insn_decode(p, avail, &d);
}

unsigned int bpftime_rw_sc_insn_decode(const uint8_t *p, size_t avail, struct bpftime_rw_sc_insn *d)
{
	unsigned int i = 0, n, imm = 0;
	int opsize16 = 0, addr32 = 0, rexw = 0, has_modrm;
	uint8_t op;

	if (avail > 15)
		avail = 15;
	/* legacy prefixes */
	while (i < avail) {
		uint8_t b = p[i];

		if (b == 0x66)
			opsize16 = 1;
		else if (b == 0x67)
			addr32 = 1;
		else if (!(b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
			   b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65))
			break;
		i++;
	}
	if (i >= avail)
		return 0;
	d->map = 0;
	d->modrm = 0;
	d->rex = 0;
	if ((p[i] & 0xf0) == 0x40) { /* REX */
		d->rex = p[i];
		rexw = (p[i] >> 3) & 1;
		i++;
		if (i >= avail)
			return 0;
	}
	op = p[i++];
	d->op = op;

	if (op == 0xc4 || op == 0xc5 || op == 0x62) { /* VEX3, VEX2, EVEX */
		unsigned int map, extra = op == 0xc4 ? 2 : op == 0xc5 ? 1 : 3;
		uint8_t vop;

		if (i + extra + 1 > avail)
			return 0;
		map = op == 0xc4 ? (p[i] & 0x1f) : op == 0xc5 ? 1 : (p[i] & 7);
		if (op == 0x62 && (p[i + 1] & 0x04) == 0)
			return 0; /* EVEX's fixed bit */
		i += extra;
		vop = p[i++];
		d->map = 4;
		d->op = vop;
		if (map == 1 && vop == 0x77 && op != 0x62)
			return i; /* vzeroupper / vzeroall */
		if (map == 3)
			imm = 1;
		else if (map == 1 && imm8_map1(vop))
			imm = 1;
		else if (map != 1 && map != 2 && map != 5 && map != 6)
			return 0;
		n = modrm_len(p + i, avail - i);
		if (!n)
			return 0;
		i += n + imm;
		return i <= avail ? i : 0;
	}

	if (op == 0x0f) {
		if (i >= avail)
			return 0;
		op = p[i++];
		d->map = 1;
		d->op = op;
		if (op == 0x38 || op == 0x3a) {
			d->map = op == 0x38 ? 2 : 3;
			if (i >= avail)
				return 0;
			imm = op == 0x3a;
			i++; /* the third opcode byte */
			has_modrm = 1;
		} else if (op == 0x04 || op == 0x0a || op == 0x0c || op == 0x36 || op == 0xff) {
			return 0; /* invalid (ud0 is not in code either) */
		} else {
			has_modrm = !BIT(nomodrm2, op);
			if (op >= 0x80 && op <= 0x8f)
				imm = 4;
			else if (imm8_map1(op) || op == 0x0f)
				imm = 1;
		}
	} else {
		if (BIT(bad1, op))
			return 0;
		has_modrm = BIT(modrm1, op);
		switch (op) {
		case 0x04:
		case 0x0c:
		case 0x14:
		case 0x1c:
		case 0x24:
		case 0x2c:
		case 0x34:
		case 0x3c:
		case 0x6a:
		case 0x6b:
		case 0x80:
		case 0x83:
		case 0xa8:
		case 0xc0:
		case 0xc1:
		case 0xc6:
		case 0xcd:
		case 0xeb:
			imm = 1;
			break;
		case 0x05:
		case 0x0d:
		case 0x15:
		case 0x1d:
		case 0x25:
		case 0x2d:
		case 0x35:
		case 0x3d:
		case 0x68:
		case 0x69:
		case 0x81:
		case 0xa9:
		case 0xc7:
			imm = opsize16 ? 2 : 4;
			break;
		case 0xe8:
		case 0xe9:
			imm = 4;
			break;
		case 0xa0:
		case 0xa1:
		case 0xa2:
		case 0xa3:
			imm = addr32 ? 4 : 8;
			break;
		case 0xc2:
		case 0xca:
			imm = 2;
			break;
		case 0xc8:
			imm = 3;
			break;
		case 0xf6:
		case 0xf7:
			if (i < avail && ((p[i] >> 3) & 7) < 2)
				imm = op == 0xf6 ? 1 : (opsize16 ? 2 : 4);
			break;
		default:
			if (op >= 0x70 && op <= 0x7f)
				imm = 1;
			else if (op >= 0xe0 && op <= 0xe7)
				imm = 1;
			else if (op >= 0xb0 && op <= 0xb7)
				imm = 1;
			else if (op >= 0xb8 && op <= 0xbf)
				imm = rexw ? 8 : (opsize16 ? 2 : 4);
			break;
		}
	}
	if (has_modrm) {
		d->modrm = (uint8_t)i;
		n = modrm_len(p + i, avail - i);
		if (!n)
			return 0;
		i += n;
	}
	i += imm;
	return i <= avail ? i : 0;
}
