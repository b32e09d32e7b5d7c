/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_BYTEORDER_GENERIC_H
#define KSHIM_LINUX_BYTEORDER_GENERIC_H
#include <asm/byteorder.h>
#endif
