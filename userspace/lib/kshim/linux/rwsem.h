/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_RWSEM_H
#define KSHIM_LINUX_RWSEM_H
#include <pthread.h>

struct rw_semaphore {
	pthread_rwlock_t l;
};

#define init_rwsem(x) pthread_rwlock_init(&(x)->l, NULL)
#define down_read(x) pthread_rwlock_rdlock(&(x)->l)
#define up_read(x) pthread_rwlock_unlock(&(x)->l)
#define down_write(x) pthread_rwlock_wrlock(&(x)->l)
#define up_write(x) pthread_rwlock_unlock(&(x)->l)

#endif
