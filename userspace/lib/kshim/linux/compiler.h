/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_COMPILER_H
#define KSHIM_LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define __must_check	__attribute__((warn_unused_result))
#define __always_unused	__attribute__((unused))
#define __maybe_unused	__attribute__((unused))
#define fallthrough	__attribute__((fallthrough))

#endif
