/*
 * test_forward.c — the forward output's parts that need no server
 * (outputs/out_forward.h): reading the server's msgpack answers (maps,
 * arrays, str and bin), the sha512 hex digest of the Shared_Key handshake
 * (FIPS 180-2's "abc" vector), reading whole objects from a stream that
 * cuts them anywhere or packs two in one read (a socketpair), and the
 * Upstream file (nodes in order, keys inherited from the output, errors
 * with file:line).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "dp_time.h"
#include "out_forward.h"

/* {"ack": "abc", "n": [1, 2], "b": bin "xy"} */
static const uint8_t ackmap[] = { 0x83, 0xa3, 'a', 'c', 'k', 0xa3, 'a', 'b', 'c', 0xa1, 'n', 0x92, 1, 2,
				  0xa1, 'b', 0xc4, 2, 'x', 'y' };

static void test_mp_read(void **st)
{
	(void)st;
	const uint8_t *v;
	size_t vn, sl;
	const char *s;
	assert_true(out_fwd_mp_map_get(ackmap, sizeof(ackmap), "ack", &v, &vn));
	assert_true(out_fwd_mp_str(v, vn, &s, &sl));
	assert_int_equal(sl, 3);
	assert_memory_equal(s, "abc", 3);
	assert_true(out_fwd_mp_map_get(ackmap, sizeof(ackmap), "b", &v, &vn));
	assert_true(out_fwd_mp_str(v, vn, &s, &sl));   /* bin reads as bytes */
	assert_int_equal(sl, 2);
	assert_true(out_fwd_mp_map_get(ackmap, sizeof(ackmap), "n", &v, &vn));
	const uint8_t *e;
	size_t en;
	uint32_t cnt;
	assert_true(out_fwd_mp_array_get(v, vn, 1, &e, &en, &cnt));
	assert_int_equal(cnt, 2);
	assert_int_equal(e[0], 2);
	assert_false(out_fwd_mp_array_get(v, vn, 2, &e, &en, NULL));
	assert_false(out_fwd_mp_map_get(ackmap, sizeof(ackmap), "nope", &v, &vn));
	/* cut short: never reads past the end */
	assert_false(out_fwd_mp_map_get(ackmap, 7, "n", &v, &vn));
	assert_false(out_fwd_mp_map_get((const uint8_t *)"\x92\x01\x02", 3, "ack", &v, &vn));
}

static void test_sha512_hex(void **st)
{
	(void)st;
	char out[129];
	const void *parts[3] = { "a", "", "bc" };
	size_t lens[3] = { 1, 0, 2 };
	out_fwd_sha512_hex(parts, lens, 3, out);
	assert_string_equal(out, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
				 "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static void test_read_obj_stream(void **st)
{
	(void)st;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct out_fwd_node node = { .name = "t" };
	struct out_fwd_conn c;
	out_fwd_conn_init(&c, &node);
	c.fd = sv[0];
	uint64_t dl = dp_time_mono_ns() + 2000000000ull;
	const uint8_t *obj;
	size_t len;
	/* (non-blocking, as the connections out_fwd_conn_open makes) an
	 * object cut in two writes, then two objects in one write */
	assert_int_equal(write(sv[1], ackmap, 5), 5);
	assert_int_equal(write(sv[1], ackmap + 5, sizeof(ackmap) - 5), (ssize_t)(sizeof(ackmap) - 5));
	assert_int_equal(out_fwd_conn_read_obj(&c, dl, &obj, &len), 0);
	assert_int_equal(len, sizeof(ackmap));
	assert_memory_equal(obj, ackmap, len);
	uint8_t two[] = { 0x81, 0xa3, 'a', 'c', 'k', 0xa1, '1', 0x81, 0xa3, 'a', 'c', 'k', 0xa1, '2' };
	assert_int_equal(write(sv[1], two, sizeof(two)), (ssize_t)sizeof(two));
	const char *s;
	size_t sl, vn;
	const uint8_t *v;
	for (char want = '1'; want <= '2'; want++) {
		assert_int_equal(out_fwd_conn_read_obj(&c, dl, &obj, &len), 0);
		assert_true(out_fwd_mp_map_get(obj, len, "ack", &v, &vn));
		assert_true(out_fwd_mp_str(v, vn, &s, &sl));
		assert_int_equal(s[0], want);
	}
	/* nothing more: the deadline */
	assert_int_equal(out_fwd_conn_read_obj(&c, dp_time_mono_ns() + 50000000ull, &obj, &len), -ETIMEDOUT);
	/* the server closes */
	close(sv[1]);
	assert_int_equal(out_fwd_conn_read_obj(&c, dl, &obj, &len), -ECONNRESET);
	out_fwd_conn_close(&c);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/test_forward_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_upstream(void **st)
{
	(void)st;
	struct out_fwd_node def = { .shared_key = "outkey", .self_hostname = "me", .username = "u",
				    .password = "p" };
	struct out_fwd_node *nodes;
	unsigned n;
	struct dp_err err = { 0 };
	char *p = write_tmp("[UPSTREAM]\n    name up\n\n[NODE]\n    name a\n    host 10.0.0.1\n    port 1\n"
			    "\n[NODE]\n    name b\n    host 10.0.0.2\n    port 2\n    shared_key bkey\n"
			    "    self_hostname bee\n\n[NODE]\n    name c\n    host h\n    port 3\n"
			    "    empty_shared_key on\n");
	assert_int_equal(out_fwd_upstream_load(p, &def, &nodes, &n, &err), 0);
	unlink(p);
	assert_int_equal(n, 3);
	assert_string_equal(nodes[0].name, "a");
	assert_int_equal(nodes[0].port, 1);
	assert_string_equal(nodes[0].shared_key, "outkey");   /* inherited */
	assert_string_equal(nodes[0].self_hostname, "me");
	assert_string_equal(nodes[1].host, "10.0.0.2");
	assert_string_equal(nodes[1].shared_key, "bkey");     /* its own */
	assert_string_equal(nodes[1].self_hostname, "bee");
	assert_string_equal(nodes[2].shared_key, "");
	assert_null(nodes[0].tls);
	for (unsigned i = 0; i < n; i++)
		out_fwd_node_fini(&nodes[i]);
	free(nodes);

	p = write_tmp("[UPSTREAM]\n    name up\n[NODE]\n    name a\n    host h\n");
	assert_int_not_equal(out_fwd_upstream_load(p, &def, &nodes, &n, &err), 0);
	assert_non_null(strstr(err.msg, "port"));
	for (unsigned i = 0; i < n; i++)
		out_fwd_node_fini(&nodes[i]);
	free(nodes);
	unlink(p);

	p = write_tmp("[UPSTREAM]\n    name up\n[SERVER]\n    name a\n");
	assert_int_not_equal(out_fwd_upstream_load(p, &def, &nodes, &n, &err), 0);
	assert_non_null(strstr(err.msg, ":3: unknown section [SERVER]"));
	unlink(p);

	p = write_tmp("[NODE]\n    name a\n    host h\n    port 1\n");
	assert_int_not_equal(out_fwd_upstream_load(p, &def, &nodes, &n, &err), 0);
	assert_non_null(strstr(err.msg, "one [UPSTREAM]"));
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mp_read),
		cmocka_unit_test(test_sha512_hex),
		cmocka_unit_test(test_read_obj_stream),
		cmocka_unit_test(test_upstream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
