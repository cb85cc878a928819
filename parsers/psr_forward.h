/*
 * psr_forward.h — decoding Fluentd's Forward protocol v1 (the forward
 * input): one message, a msgpack array cut from the stream by
 * PSR_FRAME_MSGPACK, into its tag, its option map and its entries.
 *
 * The modes (Forward Protocol Specification v1, "Event Modes"):
 *   Message                  [tag, time, record(, option)]
 *   Forward                  [tag, [[time, record], ...](, option)]
 *   PackedForward            [tag, bin|str of concatenated [time, record](, option)]
 *   CompressedPackedForward  the same, the bytes gzipped, option
 *                            {"compressed": "gzip"}; Fluentd may send several
 *                            gzip members back to back.
 * time is an integer (seconds), Fluent Bit's EventTime (ext type 0: 32-bit
 * seconds and nanoseconds, big-endian), or a float (Fluent Bit reads one).
 * Fluent Bit 2.1 and later send [[time, metadata], record] entries: the
 * metadata map is skipped. A record must be a map.
 *
 * Nothing is copied: the message points into the frame, the entries into
 * the frame or into the caller's buffer of gunzipped bytes.
 *
 * Threads: none of its own; the shard that owns the frame.
 */
#ifndef PSR_FORWARD_H
#define PSR_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum psr_fwd_mode { PSR_FWD_MESSAGE, PSR_FWD_FORWARD, PSR_FWD_PACKED, PSR_FWD_COMPRESSED };

struct psr_fwd_msg {
	const char *tag;
	uint32_t tag_len;
	uint8_t mode;               /* enum psr_fwd_mode */
	/* MESSAGE: time then record; FORWARD: the entries after the array
	 * header (nentries of them); PACKED, COMPRESSED: the bin/str payload */
	const uint8_t *body;
	size_t body_len;
	uint32_t nentries;
	const char *chunk;          /* option "chunk" (ack wanted), or NULL */
	uint32_t chunk_len;
};

/* 0, or -EINVAL when p[0..len) is not a message of one of the modes (its
 * tag not a string, an unknown "compressed", too few or many elements). */
int psr_fwd_msg_parse(const void *p, size_t len, struct psr_fwd_msg *m);

struct psr_fwd_entry {
	uint32_t sec, nsec;
	const uint8_t *rec;         /* the record's map */
	size_t rec_len;
};

struct psr_fwd_iter {
	const uint8_t *p, *e;
	uint32_t left;              /* FORWARD: entries still to come */
	uint8_t mode;
};

/* Entries of m; body, len: m's body, or for PSR_FWD_COMPRESSED the
 * bytes psr_fwd_gunzip made of it. */
void psr_fwd_iter_init(struct psr_fwd_iter *it, const struct psr_fwd_msg *m, const void *body,
		       size_t len);

/* 1 with *e set, 0 at the end, -EINVAL for a bad entry (skipped: call
 * again for the next), -EBADMSG when the rest cannot be walked (the
 * iteration is over). */
int psr_fwd_next(struct psr_fwd_iter *it, struct psr_fwd_entry *e);

/* A stream of msgpack records (the http input's msgpack bodies): each
 * object a map (a record without time: *timed false) or an event [time,
 * map] (time as here: an integer, a float, an EventTime, or [time,
 * metadata]). *p moves past the object. 1 with *e set, 0 at the end,
 * -EINVAL for a bad object (skipped), -EBADMSG when the rest cannot be
 * walked (*p at end). */
int psr_fwd_next_loose(const uint8_t **p, const uint8_t *end, struct psr_fwd_entry *e, bool *timed);

struct dp_chunk;
/* The map at p written into c's open record, field by field as it came
 * (keys must be strings: the chunk's index is by name). 0 or -EINVAL. */
int psr_fwd_record(struct dp_chunk *c, const void *p, size_t len);

/* A zlib stream kept per shard, so that a compressed message costs no
 * allocation: NULL when out of memory. */
struct psr_fwd_gz;
struct psr_fwd_gz *psr_fwd_gz_create(void);
void psr_fwd_gz_destroy(struct psr_fwd_gz *z);

/* Gunzip in[0..len) (one or more gzip members) into out[0..cap): the
 * length, -EMSGSIZE when it does not fit in cap, -EINVAL when it is not
 * gzip. */
long psr_fwd_gunzip(struct psr_fwd_gz *z, const void *in, size_t len, void *out, size_t cap);

#endif
