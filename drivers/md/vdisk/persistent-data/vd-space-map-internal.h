/* SPDX-License-Identifier: GPL-2.0 */
/* Between the transaction manager and the metadata space map only. */
#ifndef VD_SPACE_MAP_INTERNAL_H
#define VD_SPACE_MAP_INTERNAL_H

#include "vd-space-map.h"

/*
 * The metadata space map is allocated first and attached to the tm, because
 * formatting it already allocates blocks through the tm.
 */
struct vd_space_map *vd_sm_metadata_alloc(struct vd_tm *tm);
/* Format: blocks [0, reserved) start with count 1 (the superblock slots). */
int vd_sm_metadata_format(struct vd_space_map *sm, vd_blk_t nr_blocks, vd_blk_t reserved);
int vd_sm_metadata_load(struct vd_space_map *sm, const struct vd_sm_root *root);

#endif
