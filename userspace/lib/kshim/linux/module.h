/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_MODULE_H
#define KSHIM_LINUX_MODULE_H
#define EXPORT_SYMBOL_GPL(x)
#define EXPORT_SYMBOL(x)
#endif
