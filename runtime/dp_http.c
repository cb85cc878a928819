/*
 * dp_http.c — the HTTP server: binding, libmicrohttpd's thread, routing
 * of requests to dp_http_api.c, and the health sampler (see dp_http.h).
 *
 * libmicrohttpd runs its own polling thread (MHD_USE_INTERNAL_POLLING_
 * THREAD): requests are served there, one at a time, and read counters
 * with relaxed loads; nothing here touches a shard or a worker otherwise.
 * The socket is bound by the control thread in dp_http_create, before the
 * pipeline's threads exist, and handed to libmicrohttpd at start.
 * Threads: control (create, start, destroy), the server's thread
 * (requests), the sampler (one health sample a second).
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "dp_http.h"
#include "dp_http_int.h"
#include "dp_log.h"
#include "dp_time.h"

/* Bind HTTP_Listen:HTTP_Port; the error names the key at fault. */
static int http_bind(const struct dp_service *svc, struct dp_err *err)
{
	char port[16];
	snprintf(port, sizeof(port), "%lld", (long long)svc->http_port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(svc->http_listen, port, &hints, &ai);
	if (rc)
		return dp_err_set(err, -EINVAL, "[SERVICE] HTTP_Listen '%s': not an IP address (%s)",
				  svc->http_listen, gai_strerror(rc));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		freeaddrinfo(ai);
		return dp_err_set(err, rc, "[SERVICE] HTTP_Listen '%s': %s", svc->http_listen, strerror(-rc));
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		rc = -errno;
		close(fd);
		freeaddrinfo(ai);
		if (rc == -EADDRINUSE || rc == -EACCES)
			return dp_err_set(err, rc, "[SERVICE] HTTP_Port %s on HTTP_Listen %s: %s", port,
					  svc->http_listen, strerror(-rc));
		return dp_err_set(err, rc, "[SERVICE] HTTP_Listen '%s' (HTTP_Port %s): %s", svc->http_listen, port,
				  strerror(-rc));
	}
	freeaddrinfo(ai);
	return fd;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)version;
	(void)upload;
	struct dp_http *h = cls;
	/* libmicrohttpd calls twice for a request: first with the headers. */
	if (!*state) {
		*state = h;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* no endpoint takes a body: drop it */
		return MHD_YES;
	}
	struct dp_http_reply r = { 0 };
	if (!strcmp(url, "/api/v2/reload")) {
		dp_http_reload(h, method, &r);   /* waits for the reload: takes no lock */
	} else if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		r.status = MHD_HTTP_METHOD_NOT_ALLOWED;
		r.type = "text/plain";
		r.body = strdup("method not allowed\n");
		r.len = r.body ? strlen(r.body) : 0;
	} else {
		pthread_rwlock_rdlock(&h->pl_lock);
		if (h->pl) {
			dp_http_api_route(h, url,
					  MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT), &r);
		} else {
			r.status = MHD_HTTP_SERVICE_UNAVAILABLE;
			r.type = "text/plain";
			r.body = strdup("reloading\n");
			r.len = r.body ? strlen(r.body) : 0;
		}
		pthread_rwlock_unlock(&h->pl_lock);
	}
	struct MHD_Response *resp = r.body
		? MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE)
		: MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(r.body);
		return MHD_NO;
	}
	if (r.type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.type);
	if (r.cache_control)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, r.cache_control);
	if (r.vary)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, r.vary);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	dp_debug("http server: %s", msg);
}

/* One sample a second while Health_Check is on, dropping those older than
 * HC_Period: Fluent Bit's window (api/v1/health.c). */
static void *sampler_main(void *arg)
{
	struct dp_http *h = arg;
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		uint64_t e, rf;
		pthread_mutex_unlock(&h->mu);
		pthread_rwlock_rdlock(&h->pl_lock);
		if (h->pl)
			dp_http_api_hc_totals(h->pl, &e, &rf);
		else
			e = rf = 0;
		pthread_rwlock_unlock(&h->pl_lock);
		pthread_mutex_lock(&h->mu);
		struct dp_http_hc_sample s = { dp_time_mono_ns() / 1000000000ull, e, rf };
		if (h->hc_n == h->hc_cap) {
			h->hc_head = (h->hc_head + 1) % h->hc_cap;
			h->hc_n--;
		}
		h->hc[(h->hc_head + h->hc_n++) % h->hc_cap] = s;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct dp_http *dp_http_create(struct dp_pipeline *pl, struct dp_err *err)
{
	err->code = 0;
	if (!pl->svc.http_server)
		return NULL;
	int fd = http_bind(&pl->svc, err);
	if (fd < 0)
		return NULL;
	struct dp_http *h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		dp_err_set(err, -ENOMEM, "HTTP server: out of memory");
		return NULL;
	}
	h->pl = pl;
	h->fd = fd;
	h->start_unix = (uint64_t)time(NULL); /* Fluent Bit's init_time: start-up */
	pthread_mutex_init(&h->mu, NULL);
	pthread_rwlock_init(&h->pl_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pl->svc.health_check) {
		h->hc_cap = (unsigned)pl->svc.hc_period + 2;
		h->hc = calloc(h->hc_cap, sizeof(*h->hc));
		if (!h->hc) {
			dp_http_destroy(h);
			dp_err_set(err, -ENOMEM, "HTTP server: out of memory");
			return NULL;
		}
	}
	return h;
}

int dp_http_start(struct dp_http *h, struct dp_err *err)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	/* A scrape is small and quick: a few connections at a time are
	 * enough, and idle ones are closed so a stuck client costs nothing. */
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
				  MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!h->mhd)
		return dp_err_set(err, -EIO, "HTTP server: libmicrohttpd did not start on HTTP_Port %lld",
				  (long long)h->pl->svc.http_port);
	h->fd = -1; /* libmicrohttpd's now, closed by MHD_stop_daemon */
	if (h->hc) {
		if (pthread_create(&h->sampler, NULL, sampler_main, h))
			return dp_err_set(err, -EAGAIN, "HTTP server: cannot start the health sampler");
		h->sampler_started = true;
	}
	dp_info("http server listening on %s:%lld", h->pl->svc.http_listen, (long long)h->pl->svc.http_port);
	return 0;
}

void dp_http_destroy(struct dp_http *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	if (h->sampler_started) {
		pthread_mutex_lock(&h->mu);
		h->stop = true;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->sampler, NULL);
	}
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->mu);
	pthread_rwlock_destroy(&h->pl_lock);
	pthread_cond_destroy(&h->cv);
	free(h->hc);
	free(h);
}

void dp_http_pipeline_lock(struct dp_http *h)
{
	if (h)
		pthread_rwlock_wrlock(&h->pl_lock);
}

void dp_http_pipeline_set(struct dp_http *h, struct dp_pipeline *pl)
{
	if (!h)
		return;
	h->pl = pl;
	pthread_rwlock_unlock(&h->pl_lock);
}

void dp_http_set_reload(struct dp_http *h, struct dp_reload *r)
{
	if (h)
		h->reload = r;
}
