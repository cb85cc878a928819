/*
 * out_file_lru.h — the files a `file` output with a template in File or
 * Path keeps open (one per tenant, say): at most `cap` of them, the least
 * recently used closed to open another. One output worker owns a table.
 */
#ifndef OUT_FILE_LRU_H
#define OUT_FILE_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opens path for appending: an fd, or -errno; sets *empty when the file
 * was empty (a csv header is due). */
typedef int (*out_file_open_fn)(void *arg, const char *path, bool *empty);

struct out_file_lru;

struct out_file_lru *out_file_lru_create(unsigned cap, out_file_open_fn open_fn, void *arg);
void out_file_lru_destroy(struct out_file_lru *l);

/* The entry of name[0..len) (opened when missing): its index, or -errno
 * (-EBUSY: every open file is pinned). pin: the caller's epoch; an entry
 * pinned with the current epoch is not closed to make room. */
int out_file_lru_get(struct out_file_lru *l, const char *name, size_t len, uint64_t pin);
int out_file_lru_fd(const struct out_file_lru *l, int idx);
/* The entry's csv header is due (its file was empty when opened). */
bool *out_file_lru_header(struct out_file_lru *l, int idx);
/* Files closed to make room so far (counted: a dashboard may want it). */
uint64_t out_file_lru_evictions(const struct out_file_lru *l);

#endif
