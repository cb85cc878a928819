/*
 * dp_fs.h — small filesystem helpers shared by the store and the outputs
 * that write files. Control thread or the thread that owns the path.
 */
#ifndef DP_FS_H
#define DP_FS_H

#include <sys/types.h>

/* mkdir -p: make dir and its missing parents with mode. 0 when dir exists
 * as a directory afterwards, else -errno (-ENOTDIR when it is something
 * else, -ENAMETOOLONG past PATH_MAX). */
int dp_mkdir_p(const char *dir, mode_t mode);

#endif
