/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/random.h>: get_random_bytes over getrandom(2). */
#ifndef KSHIM_LINUX_RANDOM_H
#define KSHIM_LINUX_RANDOM_H

#include <linux/types.h>

void get_random_bytes(void *buf, size_t len);

#endif
