// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk: the sharing census behind the vdisk status's exclusive and shared
 * block counts.
 *
 * A census is an exact count (vd_pool_count_sharing*(), persistent-data)
 * that costs O(mapped blocks) under md_lock held shared, which holds back
 * every metadata change meanwhile.  So:
 *   - the result is cached per vdisk and kept current by the insert path:
 *     a new mapping at an unmapped key is one more exclusive block.  Every
 *     other change that may move blocks between exclusive and shared, in
 *     this vdisk or any other, bumps pool->share_gen, which makes the cache
 *     out of date;
 *   - a small vdisk is counted again inside the status call;
 *   - a larger one is counted by a work item in steps of a few leaves,
 *     dropping md_lock between steps.  The insert path keeps the running
 *     count exact the same way (a new mapping below the cursor is counted
 *     by the insert path, at or above it by the walk); a share_gen change
 *     between steps starts it again.  The status prints "-" until it is
 *     done.
 */
#include "dm-vdisk.h"

/*
 * Largest vdisk (in mapped blocks) counted inside a status call: 256 MiB of
 * 4 KiB blocks, a few milliseconds.
 */
#define VDISK_CENSUS_INLINE_MAX 65536

/* Mapping leaves a background step counts (~250 mappings each). */
#define VDISK_CENSUS_STEP_LEAVES 32

/*
 * Restarts one run of the work allows before giving up (the pool keeps
 * changing its sharing, e.g. while a deletion is reclaimed); the next
 * status call queues it again.
 */
#define VDISK_CENSUS_MAX_RESTARTS 4

static void census_publish(struct vdisk *vd, u64 share_gen, u64 exclusive, u64 shared)
{
	spin_lock(&vd->census_lock);
	vd->census_valid = true;
	vd->census_share_gen = share_gen;
	vd->census_exclusive = exclusive;
	vd->census_shared = shared;
	spin_unlock(&vd->census_lock);
}

static void vdisk_census_work(struct work_struct *ws)
{
	struct vdisk *vd = container_of(ws, struct vdisk, census_work);
	struct vdisk_pool *pool = vd->pool;
	struct vd_sharing_census *run = &vd->census_run;
	unsigned int restarts = 0;
	bool again = true;
	int r;

	while (again) {
		down_read(&pool->md_lock);
		if (!vd->census_running || vd->census_run_share_gen != pool->share_gen) {
			if (vd->census_running)
				restarts++;
			memset(run, 0, sizeof(*run));
			vd->census_run_share_gen = pool->share_gen;
			vd->census_running = restarts <= VDISK_CENSUS_MAX_RESTARTS;
		}
		r = -EAGAIN;
		if (vd->census_running)
			r = vd_pool_count_sharing_step(pool->pmd, vd->id, run,
						       VDISK_CENSUS_STEP_LEAVES);
		if (!r && run->done)
			census_publish(vd, vd->census_run_share_gen, run->exclusive,
				       run->shared);
		again = !r && !run->done;
		if (!again)
			vd->census_running = false;
		up_read(&pool->md_lock);
		cond_resched();
	}
}

void vdisk_census_init(struct vdisk *vd)
{
	spin_lock_init(&vd->census_lock);
	INIT_WORK(&vd->census_work, vdisk_census_work);
}

void vdisk_census_stop(struct vdisk *vd)
{
	cancel_work_sync(&vd->census_work);
}

bool vdisk_census_get(struct vdisk *vd, u64 mapped, u64 *exclusive, u64 *shared)
{
	struct vdisk_pool *pool = vd->pool;
	u64 share_gen = pool->share_gen;
	bool known = false;

	spin_lock(&vd->census_lock);
	if (vd->census_valid && vd->census_share_gen == share_gen) {
		*exclusive = vd->census_exclusive;
		*shared = vd->census_shared;
		known = true;
	}
	spin_unlock(&vd->census_lock);
	if (known)
		return true;
	if (mapped > VDISK_CENSUS_INLINE_MAX) {
		queue_work(system_unbound_wq, &vd->census_work);
		return false;
	}
	if (vd_pool_count_sharing(pool->pmd, vd->id, exclusive, shared))
		return false;
	census_publish(vd, share_gen, *exclusive, *shared);
	return true;
}

void vdisk_census_new_mapping(struct vdisk *vd, u64 vblock)
{
	if (vd->census_running && !vd->census_run.done && vblock < vd->census_run.next_key)
		vd->census_run.exclusive++;
	spin_lock(&vd->census_lock);
	if (vd->census_valid)
		vd->census_exclusive++;
	spin_unlock(&vd->census_lock);
}
