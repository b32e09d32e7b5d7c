/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_ERRNO_H
#define KSHIM_LINUX_ERRNO_H
/* glibc's <errno.h> includes <linux/errno.h>: pass it on to the real one. */
#include_next <linux/errno.h>
#include <errno.h>
#endif
