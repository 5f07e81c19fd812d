/* Small helpers for file descriptors. */
#ifndef PIMGATE_FD_H
#define PIMGATE_FD_H

#include <stddef.h>

/* Writes all LEN bytes at P to FD, going on after short writes and
 * EINTR. Returns 0, or the errno of the failed write (EIO when write
 * returned 0). */
int fd_write_all(int fd, const void *p, size_t len);

#endif
