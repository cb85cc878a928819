/*
 * psr_ml_kept.c — a multiline group's first record kept aside (psr_ml.h,
 * struct psr_ml_kept): its fields but the content, copied out of the
 * chunk, then written again around the joined text at the content's
 * place. The tail input's container lines (in_tail_mlc.c) and the
 * multiline filter both build their records with it.
 *
 * Threads: the caller's shard.
 */
#include <string.h>
#include "dp_chunk.h"
#include "dp_edit.h"
#include "psr_ml.h"

unsigned psr_ml_keep(struct psr_ml_kept *k, struct dp_chunk *c, int content)
{
	unsigned n = dp_tail_nfields(c), left_out = 0;
	k->nf = k->len = k->content_pos = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct dp_field *f = dp_tail_field(c, i);
		if ((int)i == content) {
			k->content_pos = k->nf;
			continue;
		}
		uint32_t voff = f->val_off, vlen = f->val_len;
		if (f->type == DP_T_BIN) {   /* bin keeps its header (as dp_chunk_put_copy does) */
			uint32_t h = vlen < 256 ? 2 : vlen < 65536 ? 3 : 5;
			voff -= h;
			vlen += h;
		}
		if (k->nf == PSR_ML_KEPT_FIELDS || k->len + f->key_len + vlen > PSR_ML_KEPT_BYTES) {
			left_out++;
			continue;
		}
		struct psr_ml_fcopy *fc = &k->f[k->nf++];
		fc->koff = k->len;
		fc->klen = f->key_len;
		memcpy(k->buf + k->len, dp_field_key(c, f), f->key_len);
		k->len += f->key_len;
		fc->voff = k->len;
		fc->vlen = (uint16_t)vlen;
		fc->type = f->type;
		memcpy(k->buf + k->len, c->data + voff, vlen);
		k->len += (uint16_t)vlen;
	}
	return left_out;
}

void psr_ml_put_kept(const struct psr_ml_kept *k, struct dp_chunk *c, const char *key, size_t klen,
		     const char *text, size_t len)
{
	for (unsigned i = 0; i <= k->nf; i++) {
		if (i == k->content_pos)
			dp_chunk_put_str(c, key, klen, text, len);
		if (i == k->nf)
			break;
		const struct psr_ml_fcopy *f = &k->f[i];
		const char *kk = (const char *)k->buf + f->koff;
		const uint8_t *v = k->buf + f->voff;
		if (f->type == DP_T_STR) {
			dp_chunk_put_str(c, kk, f->klen, (const char *)v, f->vlen);
		} else {
			dp_chunk_field_begin(c, kk, f->klen);
			dp_chunk_write(c, v, f->vlen);
			dp_chunk_field_end(c, (enum dp_type)f->type);
		}
	}
}
