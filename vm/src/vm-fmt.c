// SPDX-License-Identifier: MIT
/*
 * The vm's own vsnprintf: the subset its messages use (%d %u %x %s with the
 * l, ll and z modifiers, "%02x"), so that loading a program formats its
 * load errors without libc. Output matches glibc for that subset.
 */
#include "vm-internal.h"

struct out {
	char *buf;
	size_t size; /* room in buf, NUL included */
	size_t len;  /* everything the output needs, written or not */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_n(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left; /* '-' */
	bool zero; /* '0' */
	int width;
};

/* @s of @n bytes, padded to the width. */
static void put_field(struct out *o, const struct spec *sp, const char *s, size_t n)
{
	int pad = sp->width > (int)n ? sp->width - (int)n : 0;

	if (!sp->left)
		put_n(o, ' ', pad);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	if (sp->left)
		put_n(o, ' ', pad);
}

static void put_num(struct out *o, const struct spec *sp, unsigned long long v, bool neg,
		    unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = 0, pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		prefix = "-";
	while (prefix && prefix[plen])
		plen++;
	pad = sp->width > n + plen ? sp->width - n - plen : 0;
	if (!sp->left && !sp->zero)
		put_n(o, ' ', pad);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	if (!sp->left && sp->zero)
		put_n(o, '0', pad);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		put_n(o, ' ', pad);
}

enum len_mod { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static const char *parse_len(const char *f, enum len_mod *len)
{
	*len = LEN_INT;
	switch (*f) {
	case 'h':
		*len = LEN_SHORT;
		if (*++f == 'h') {
			*len = LEN_CHAR;
			f++;
		}
		break;
	case 'l':
		*len = LEN_LONG;
		if (*++f == 'l') {
			*len = LEN_LLONG;
			f++;
		}
		break;
	case 'z':
	case 'j':
	case 't':
		*len = *f == 'j' ? LEN_LLONG : LEN_SIZE;
		f++;
		break;
	}
	return f;
}

static long long arg_signed(va_list *ap, enum len_mod len)
{
	switch (len) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE:
		return va_arg(*ap, long); /* ssize_t, ptrdiff_t */
	default:
		return va_arg(*ap, int);
	}
}

static unsigned long long arg_unsigned(va_list *ap, enum len_mod len)
{
	switch (len) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

/* One conversion at @f (after the flags, width and length); the next byte. */
static const char *convert(struct out *o, const struct spec *sp, enum len_mod len, const char *f,
			   va_list *ap)
{
	const char *s;
	long long v;
	size_t n;
	char c;

	switch (*f) {
	case 'd':
	case 'i':
		v = arg_signed(ap, len);
		put_num(o, sp, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0,
			10, false, NULL);
		break;
	case 'u':
		put_num(o, sp, arg_unsigned(ap, len), false, 10, false, NULL);
		break;
	case 'x':
	case 'X':
		put_num(o, sp, arg_unsigned(ap, len), false, 16, *f == 'X', NULL);
		break;
	case 'p':
		s = va_arg(*ap, const char *);
		if (s)
			put_num(o, sp, (uintptr_t)s, false, 16, false, "0x");
		else
			put_field(o, sp, "(nil)", 5);
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		put_field(o, sp, &c, 1);
		break;
	case 's':
		s = va_arg(*ap, const char *);
		if (!s)
			s = "(null)";
		for (n = 0; s[n]; n++)
			;
		put_field(o, sp, s, n);
		break;
	case '%':
		put(o, '%');
		break;
	case '\0':
		return f; /* a lone '%' at the end */
	default:
		put(o, '%'); /* not ours: print it as written */
		put(o, *f);
		break;
	}
	return f + 1;
}

int bpftime_vm_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o;
	va_list aq;

	/* no initializers: clang -O0 clears structs with memset() */
	o.buf = buf;
	o.size = size;
	o.len = 0;
	va_copy(aq, ap);
	for (const char *f = fmt; *f;) {
		struct spec sp;
		enum len_mod len;

		sp.left = sp.zero = false;
		sp.width = 0;
		if (*f != '%') {
			put(&o, *f++);
			continue;
		}
		for (f++; *f == '-' || *f == '0'; f++) {
			if (*f == '-')
				sp.left = true;
			else
				sp.zero = true;
		}
		for (; *f >= '0' && *f <= '9'; f++)
			if (sp.width < 100000) /* no overflow; no message is that wide */
				sp.width = sp.width * 10 + (*f - '0');
		f = parse_len(f, &len);
		f = convert(&o, &sp, len, f, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > 0x7fffffff ? 0x7fffffff : (int)o.len;
}

int bpftime_vm_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = bpftime_vm_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
