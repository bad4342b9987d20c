// SPDX-License-Identifier: MIT
/*
 * Lexing one source line. Every function works inside [p, end) of a
 * struct bpftime_asm_line and never reads past end, so a line needs no
 * terminator and the input may be anything (the assembler is fuzzed).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include "asm-internal.h"

/* Longest piece of input quoted back in a message. */
#define TOKEN_QUOTE_MAX 32

int bpftime_asm_error(struct bpftime_asm_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!l->err || !l->err_size)
		return -EINVAL;
	n = snprintf(l->err, l->err_size, "line %zu: ", l->no);
	/* n < err_size: the prefix fit and room for the reason is left */
	if (n >= 0 && (size_t)n < l->err_size) {
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->err_size - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_word_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || c == '.';
}

static bool is_word_char(char c)
{
	return is_word_start(c) || isdigit((unsigned char)c);
}

/*
 * Length of the offending token at @p, for messages: up to a separator,
 * but at least one character so that a stray ',' is shown.
 */
static int token_len(const char *p, const char *end)
{
	const char *q = p < end ? p + 1 : p;

	while (q < end && !is_space(*q) && *q != ',' && *q != ']' && q - p < TOKEN_QUOTE_MAX)
		q++;
	return (int)(q - p);
}

void bpftime_asm_skip_space(struct bpftime_asm_line *l)
{
	while (l->p < l->end && is_space(*l->p))
		l->p++;
}

bool bpftime_asm_at_end(struct bpftime_asm_line *l)
{
	bpftime_asm_skip_space(l);
	return l->p == l->end;
}

bool bpftime_asm_accept(struct bpftime_asm_line *l, char c)
{
	bpftime_asm_skip_space(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return true;
	}
	return false;
}

int bpftime_asm_expect(struct bpftime_asm_line *l, char c)
{
	if (bpftime_asm_accept(l, c))
		return 0;
	if (l->p == l->end)
		return bpftime_asm_error(l, "expected '%c' at end of line", c);
	return bpftime_asm_error(l, "expected '%c' before '%.*s'", c, token_len(l->p, l->end),
				 l->p);
}

void bpftime_asm_word(struct bpftime_asm_line *l, const char **word, size_t *len)
{
	const char *q;

	bpftime_asm_skip_space(l);
	*word = l->p;
	*len = 0;
	if (l->p == l->end || !is_word_start(*l->p))
		return;
	for (q = l->p; q < l->end && is_word_char(*q); q++)
		;
	*len = (size_t)(q - l->p);
	l->p = q;
}

int bpftime_asm_expect_end(struct bpftime_asm_line *l)
{
	if (bpftime_asm_at_end(l))
		return 0;
	return bpftime_asm_error(l, "unexpected '%.*s' after operands", token_len(l->p, l->end),
				 l->p);
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * Digits in @base into *mag, refusing overflow of 64 bits. The number must
 * end at a separator: "12ab" is a bad number, not 12 followed by garbage.
 */
static int scan_digits(struct bpftime_asm_line *l, const char *start, unsigned base, uint64_t *mag)
{
	const char *q = l->p;
	uint64_t v = 0;
	int d;

	for (; q < l->end && (d = digit_value(*q)) < (int)base; q++) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return bpftime_asm_error(l, "number '%.*s' does not fit in 64 bits",
						 token_len(start, l->end), start);
		v = v * base + (uint64_t)d;
	}
	if (q == l->p || (q < l->end && is_word_char(*q)))
		return bpftime_asm_error(l, "bad number '%.*s'", token_len(start, l->end), start);
	l->p = q;
	*mag = v;
	return 0;
}

/* [+-] (0x hex | decimal) into a sign and a 64-bit magnitude. */
static int scan_number(struct bpftime_asm_line *l, uint64_t *mag, bool *neg)
{
	const char *start;

	bpftime_asm_skip_space(l);
	start = l->p;
	*neg = false;
	if (l->p < l->end && (*l->p == '-' || *l->p == '+')) {
		*neg = *l->p == '-';
		l->p++;
	}
	if (l->p == l->end || !isdigit((unsigned char)*l->p)) {
		l->p = start;
		if (l->p == l->end)
			return bpftime_asm_error(l, "expected a number at end of line");
		return bpftime_asm_error(l, "expected a number, got '%.*s'",
					 token_len(start, l->end), start);
	}
	/* l->p < end here, so reading l->p[1] needs its own check */
	if (*l->p == '0' && l->p + 1 < l->end && (l->p[1] == 'x' || l->p[1] == 'X')) {
		l->p += 2;
		return scan_digits(l, start, 16, mag);
	}
	return scan_digits(l, start, 10, mag);
}

bool bpftime_asm_number_next(struct bpftime_asm_line *l)
{
	bpftime_asm_skip_space(l);
	return l->p < l->end && (isdigit((unsigned char)*l->p) || *l->p == '-' || *l->p == '+');
}

int bpftime_asm_number(struct bpftime_asm_line *l, int64_t min, int64_t max, const char *what,
		       int64_t *out)
{
	const char *start;
	uint64_t mag;
	bool neg;
	int err;

	bpftime_asm_skip_space(l);
	start = l->p;
	err = scan_number(l, &mag, &neg);
	if (err)
		return err;
	if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
		goto range;
	/* mag == 2^63 only when negative: that is INT64_MIN itself */
	*out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
	if (*out < min || *out > max)
		goto range;
	return 0;
range:
	return bpftime_asm_error(l, "%s %.*s out of range [%lld, %lld]", what, (int)(l->p - start),
				 start, (long long)min, (long long)max);
}

int bpftime_asm_number64(struct bpftime_asm_line *l, uint64_t *out)
{
	const char *start;
	uint64_t mag;
	bool neg;
	int err;

	bpftime_asm_skip_space(l);
	start = l->p;
	err = scan_number(l, &mag, &neg);
	if (err)
		return err;
	if (neg && mag > (uint64_t)INT64_MAX + 1)
		return bpftime_asm_error(l, "immediate %.*s out of 64-bit range",
					 (int)(l->p - start), start);
	*out = neg ? 0 - mag : mag;
	return 0;
}

int bpftime_asm_imm32(struct bpftime_asm_line *l, int32_t *out)
{
	int64_t v;
	int err = bpftime_asm_number(l, INT32_MIN, UINT32_MAX, "immediate", &v);

	if (!err)
		*out = (int32_t)(uint32_t)(uint64_t)v;
	return err;
}

bool bpftime_asm_register_next(struct bpftime_asm_line *l)
{
	bpftime_asm_skip_space(l);
	return l->p < l->end && *l->p == '%';
}

int bpftime_asm_register(struct bpftime_asm_line *l, uint8_t *reg)
{
	const char *start, *q;
	unsigned v = 0;

	bpftime_asm_skip_space(l);
	start = l->p;
	if (l->p == l->end)
		return bpftime_asm_error(l, "expected a register at end of line");
	/* "%r", then 1 or 2 decimal digits, then a separator */
	if (l->end - l->p < 3 || l->p[0] != '%' || l->p[1] != 'r')
		goto bad;
	for (q = l->p + 2; q < l->end && isdigit((unsigned char)*q) && q - start < 4; q++)
		v = v * 10 + (unsigned)(*q - '0');
	if (q == l->p + 2 || (q < l->end && is_word_char(*q)) || v > ASM_MAX_REG)
		goto bad;
	/* "%r01" would be r1; refuse it so that each register has one spelling */
	if (q - start == 4 && start[2] == '0')
		goto bad;
	l->p = q;
	*reg = (uint8_t)v;
	return 0;
bad:
	return bpftime_asm_error(l, "bad register '%.*s'", token_len(start, l->end), start);
}

int bpftime_asm_memory(struct bpftime_asm_line *l, uint8_t *reg, int16_t *off)
{
	int64_t v = 0;
	int err;

	err = bpftime_asm_expect(l, '[');
	if (!err)
		err = bpftime_asm_register(l, reg);
	if (err)
		return err;
	bpftime_asm_skip_space(l);
	/* the sign belongs to the offset: scan_number reads it */
	if (l->p < l->end && (*l->p == '+' || *l->p == '-')) {
		err = bpftime_asm_number(l, INT16_MIN, INT16_MAX, "offset", &v);
		if (err)
			return err;
	}
	err = bpftime_asm_expect(l, ']');
	if (!err)
		*off = (int16_t)v;
	return err;
}
