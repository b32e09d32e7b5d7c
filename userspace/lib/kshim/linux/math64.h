/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_MATH64_H
#define KSHIM_LINUX_MATH64_H
#include <linux/kernel.h>
#endif
