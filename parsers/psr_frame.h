/*
 * psr_frame.h — cutting a byte stream (one TCP connection, one file) into
 * frames, without copying: frames point into the caller's buffer.
 *
 * Framings (RFC 6587 for syslog over TCP):
 *   PSR_FRAME_LF     non-transparent framing: a frame ends at LF or NUL;
 *                    one CR before the LF is stripped (CRLF senders).
 *   PSR_FRAME_OCTET  octet counting: "LEN SP MSG", LEN 1 to 10 decimal
 *                    digits giving MSG's length in bytes. CR, LF, NUL and
 *                    spaces between frames are skipped (some senders end
 *                    each counted frame with LF).
 *   PSR_FRAME_AUTO   per frame: one that starts with a digit is octet
 *                    counted, anything else non-transparent (RFC 6587
 *                    3.4.2; rsyslog decides the same way). A syslog line
 *                    starts with '<', so both kinds can share a port.
 *   PSR_FRAME_SEP    a frame ends at a separator string of 1 to
 *                    PSR_FRAME_SEP_MAX bytes (the tcp input's Separator);
 *                    nothing is stripped.
 *   PSR_FRAME_JSON   one JSON object per frame, as Fluent Bit's tcp input
 *                    reads them: one per line (the fast path: a line that
 *                    starts with '{' and ends with '}'), or spread over
 *                    several lines (pretty-printed), found by tracking
 *                    nesting and strings. Whitespace between objects is
 *                    skipped. A line that does not start with '{' is a
 *                    frame of its own (the parser rejects it). A broken
 *                    object ends where a line starts with '{' while it is
 *                    still open, or where a string holds a raw LF (JSON
 *                    forbids both), so one broken object never swallows
 *                    the objects after it. Several objects on one line
 *                    ("{..}{..}", "{..} {..}") are one frame here: the
 *                    line the JSON parser refuses is cut by the caller
 *                    with psr_frame_json_first (only such a line pays for
 *                    the search), as Fluent Bit's JSON stream tokenizer
 *                    yields each object.
 *   PSR_FRAME_MSGPACK one msgpack object per frame (the forward input).
 *                    Its end is found by walking headers only (a count of
 *                    objects still to come, no stack, payloads skipped by
 *                    their lengths), resumed where the last call stopped
 *                    (mp_off, mp_left), so a frame that arrives in many
 *                    reads is walked once. An object over max_frame, or a
 *                    byte no msgpack object starts with (0xc1), cannot be
 *                    skipped safely: it is counted (oversize, or for
 *                    the bad byte in `malformed` only) and the framer is broken
 *                    from there on, dropping every byte
 *                    (psr_framer_is_broken): the caller closes the
 *                    connection, as Fluent Bit does.
 *   PSR_FRAME_HTTP   one HTTP/1.x request per frame, head and
 *                    Content-Length body (the http input; psr_http.h says
 *                    how, and when the framing is lost: the frame is then
 *                    the part to answer from, counted oversize or
 *                    malformed, and the framer broken as for MSGPACK).
 *                    Empty lines between requests are skipped.
 * Empty frames (an empty line, "0 ") are skipped silently.
 *
 * Size limit: a frame whose content is longer than max_frame (LEN >
 * max_frame, or no terminator within max_frame bytes plus the CRLF) is
 * oversize: it is counted and its bytes are dropped, across as many calls
 * as it takes (the framer remembers it is skipping), and the frames around
 * it are delivered. A malformed octet count (digits then anything but a
 * space, or more than 10 digits) is counted as oversize too, and also in
 * framer->malformed so that metrics can tell the two apart; the framer
 * resynchronises after the next LF or NUL.
 *
 * The caller's loop, per connection:
 *
 *   n = read(fd, buf + have, size - have); have += n;
 *   do {
 *           used = psr_frame_burst(&fr, buf, have, frames, DP_BURST, &nf, &nover);
 *           ... parse frames[0..nf) (they point into buf) ...
 *           memmove(buf, buf + used, have - used); have -= used;
 *   } while (nf == DP_BURST);
 *   at EOF: if (psr_frame_flush(&fr, buf, have, &last) == 1) parse last;
 *
 * The caller's buffer must hold at least max_frame + PSR_FRAME_HEADROOM
 * bytes: whenever psr_frame_burst returns fewer than max_out frames, the
 * unconsumed tail is shorter than that, so there is room to read more.
 *
 * Threads: a framer belongs to the shard that owns the connection.
 */
#ifndef PSR_FRAME_H
#define PSR_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum psr_frame_mode {
	PSR_FRAME_AUTO = 0,
	PSR_FRAME_LF,
	PSR_FRAME_OCTET,
	PSR_FRAME_SEP,
	PSR_FRAME_JSON,
	PSR_FRAME_MSGPACK,
	PSR_FRAME_HTTP,
};

#define PSR_FRAME_SEP_MAX  16
/* Tail bound: 10 digits and a space of octet-count header, or a separator
 * that may straddle the end of the buffer, or CR LF; rounded up. */
#define PSR_FRAME_HEADROOM 32

struct psr_frame {
	const char *p;
	uint32_t len;
};

struct psr_framer {
	uint32_t max_frame;
	uint8_t mode;           /* enum psr_frame_mode */
	uint8_t state;          /* private: framing or skipping */
	uint8_t seplen;
	char sep[PSR_FRAME_SEP_MAX];
	uint64_t skip_left;     /* private: octet-counted bytes still to drop */
	uint64_t malformed;     /* bad octet counts so far (also in noversize) */
	uint64_t mp_left;       /* private, MSGPACK: objects still to walk, 0: none begun;
	                           HTTP: the request's length once its head is read */
	uint32_t mp_off;        /* private, MSGPACK: bytes of the frame walked so far;
	                           HTTP: how far the search for the head's end got */
	bool continue_owed;     /* HTTP: a head just read says Expect: 100-continue and its
	                           body is still to come: the caller answers
	                           "100 Continue" and clears this */
};

/* PSR_FRAME_MSGPACK: past an object it could not skip; the rest of the
 * stream is dropped. */
bool psr_framer_is_broken(const struct psr_framer *f);

/* -EINVAL for an unknown mode, max_frame 0, or (PSR_FRAME_SEP) a separator
 * of 0 or more than PSR_FRAME_SEP_MAX bytes. sep is copied. */
int psr_framer_init(struct psr_framer *f, int mode, uint32_t max_frame,
		    const char *sep, size_t seplen);

/* Forget any partial frame or skipping (a new connection). */
void psr_framer_reset(struct psr_framer *f);

/*
 * Cut up to max_out complete frames from buf[0..len) into out[], set
 * *nout to how many, and *noversize to how many oversize or malformed
 * frames were dropped. Returns how many bytes of buf were used: the
 * frames, their terminators and headers, and anything dropped. The rest
 * is an incomplete frame: keep it at the start of the buffer and pass it
 * again with more bytes after it. When *nout == max_out there may be more
 * complete frames: call again.
 */
size_t psr_frame_burst(struct psr_framer *f, const char *buf, size_t len,
		       struct psr_frame *out, unsigned max_out,
		       unsigned *nout, unsigned *noversize);

/*
 * At end of stream: buf[0..len) is the tail psr_frame_burst left (after a
 * call that returned fewer than max_out frames). A sender may close right
 * after its last line without a terminator; that line is still a frame.
 * Returns 1 with *out set, 0 when there is nothing to deliver (empty, or
 * the tail belongs to an oversize frame already counted), -EMSGSIZE for
 * an oversize tail, -EBADMSG for an octet-counted frame cut short (both
 * for the caller to count). Resets the framer.
 */

/* p[0..len) starts with a JSON object that ends before len, another one
 * following it ("{..}{..}", "{..} {..}"): the first one's length; else 0.
 * For the rare frame the JSON parser refused. */
size_t psr_frame_json_first(const char *p, size_t len);
int psr_frame_flush(struct psr_framer *f, const char *buf, size_t len, struct psr_frame *out);

/* Tests only: scan with the baseline SSE2 code even on a CPU with AVX2,
 * so both paths get exercised. Call before any framing starts. */
void psr_frame_force_baseline(bool on);

#endif
