/*
 * dp_base64.h — base64 decoding (RFC 4648), both alphabets: the standard
 * one with its '=' padding (Elastic Cloud IDs), and base64url without
 * padding (JWTs). Stateless; any thread.
 */
#ifndef DP_BASE64_H
#define DP_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* p[0..n) into out[0..cap): the length, or -1 when it is not base64 of
 * that alphabet (url: '-' and '_' for '+' and '/', no padding; else
 * padding '=' is allowed at the end only) or does not fit in cap. */
static inline long dp_base64_decode(const char *p, size_t n, uint8_t *out, size_t cap, bool url)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	if (!url)
		while (n && p[n - 1] == '=')
			n--;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 :
			c >= '0' && c <= '9' ? c - '0' + 52 :
			c == (url ? '-' : '+') ? 62 : c == (url ? '_' : '/') ? 63 : -1;
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return bits >= 6 ? -1 : (long)o;   /* one char left over: not base64 */
}

#endif
