/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-vdisk on-disk metadata format.
 *
 * Everything here is little-endian and fixed-width.  Metadata lives on its own
 * device in 4 KiB blocks.  Every metadata block starts with struct
 * vd_block_header; the byte-level description is in
 * Documentation/design/on-disk-format.rst.
 *
 * Checksum convention: csum = crc32c over bytes [4, 4096) of the block (i.e.
 * everything after the csum field), seed 0xffffffff, result xor 0xffffffff
 * (the standard CRC-32C), then xor the per-type magic's VD_CSUM_XOR
 * (0 today).  In kernel terms:
 *	~crc32c(~0, block + 4, 4092)
 */
#ifndef _UAPI_LINUX_DM_VDISK_FORMAT_H
#define _UAPI_LINUX_DM_VDISK_FORMAT_H

#include <linux/types.h>

#define VD_METADATA_BLOCK_SIZE		4096U
#define VD_METADATA_BLOCK_SHIFT		12
#define VD_SECTOR_SHIFT			9
#define VD_METADATA_SECTORS		(VD_METADATA_BLOCK_SIZE >> VD_SECTOR_SHIFT)
#define VD_CSUM_SEED			0xffffffffU
#define VD_CSUM_XOR			0xffffffffU

/* Magics: one per block type ("VDxx" read as little-endian ASCII). */
#define VD_MAGIC_SUPERBLOCK		0x42534456U	/* "VDSB" */
#define VD_MAGIC_BTREE_NODE		0x4e424456U	/* "VDBN" */
#define VD_MAGIC_SM_BITMAP		0x4d424456U	/* "VDBM" refcount block */

/*
 * Common header of every metadata block.
 * @csum:    crc32c as described above (covers magic..end of block).
 * @magic:   VD_MAGIC_*.
 * @blocknr: the block's own location; a block found elsewhere is an error.
 * @txn:     commit sequence number (struct vd_superblock.commit_seq) of the
 *           transaction that wrote this block.
 */
struct vd_block_header {
	__le32 csum;
	__le32 magic;
	__le64 blocknr;
	__le64 txn;
};

#define VD_BLOCK_HEADER_SIZE		24U

/*
 * Reference from one metadata block (or the superblock) to another: the
 * location and the transaction that wrote the block there, i.e. the @txn its
 * header must carry.  A reader checks both, so an older but otherwise valid
 * version of the block at the same location (a lost write) is detected
 * instead of being read as current.  blocknr 0 means "no block" where a
 * reference is optional.
 */
struct vd_block_ref {
	__le64 blocknr;
	__le64 txn;
};

#define VD_BLOCK_REF_SIZE		16U

/* ---------------------------------------------------------------------- */
/* Superblock: two commit slots, blocks 0 and 1.                          */
/* ---------------------------------------------------------------------- */

#define VD_SUPERBLOCK_NR_SLOTS		2U
/* Slot used by commit sequence s is s % 2; the valid slot with the highest
 * commit_seq is the current one.
 */
#define VD_SUPERBLOCK_SLOT(seq)		((seq) % VD_SUPERBLOCK_NR_SLOTS)
#define VD_FORMAT_VERSION		1U

/* compat: unknown bits may be ignored. */
#define VD_FEATURE_COMPAT_SUPP			(0ULL)
/* ro_compat: unknown bits force a read-only open. */
#define VD_FEATURE_RO_COMPAT_FINGERPRINTS	(1ULL << 0)	/* dedup index */
/*
 * The name map (VD_ROOT_NAME_MAP) exists.  ro_compat, not compat: code that
 * ignores the map would delete a vdisk and leave its name behind.  Set by
 * the commit that creates the map (the first name ever written); never
 * cleared.  Present exactly when tree_roots[VD_ROOT_NAME_MAP] is non-zero.
 */
#define VD_FEATURE_RO_COMPAT_NAME_MAP		(1ULL << 1)
#define VD_FEATURE_RO_COMPAT_SUPP		(VD_FEATURE_RO_COMPAT_NAME_MAP)
/* incompat: unknown bits refuse the open. */
#define VD_FEATURE_INCOMPAT_COMPRESSION		(1ULL << 0)	/* fragment slots */
#define VD_FEATURE_INCOMPAT_SSD_TIER		(1ULL << 1)
#define VD_FEATURE_INCOMPAT_REPLICATION		(1ULL << 2)
#define VD_FEATURE_INCOMPAT_SUPP		(0ULL)

/*
 * Root of one space map (see Documentation/design/metadata.rst).
 * @nr_blocks:     blocks tracked.
 * @nr_allocated:  blocks with a non-zero reference count (O(1) free count).
 * @index_root:    B+tree: key = bitmap number, value = struct vd_sm_index_entry.
 * @overflow_root: B+tree: key = block, value = __le64 count, for blocks whose
 *                 bitmap count byte is VD_SM_COUNT_OVERFLOW.
 * @alloc_cursor:  where the next allocation search starts.
 */
struct vd_sm_root {
	__le64 nr_blocks;
	__le64 nr_allocated;
	struct vd_block_ref index_root;
	struct vd_block_ref overflow_root;
	__le64 alloc_cursor;
	__le64 reserved;
};

#define VD_SM_ROOT_SIZE			64U

/* Named tree roots in the superblock (blocknr 0 = absent). */
enum vd_tree_root_index {
	VD_ROOT_VDISKS = 0,		/* vdisk id -> mapping tree root */
	VD_ROOT_DETAILS = 1,		/* vdisk id -> struct vd_disk_details */
	VD_ROOT_PENDING_DELETE = 2,	/* trees being deleted incrementally */
	VD_ROOT_FINGERPRINTS = 3,	/* reserved: dedup fingerprint index */
	VD_ROOT_REPLICATION = 4,	/* reserved: replication state */
	VD_ROOT_NAME_MAP = 5,		/* vdisk id -> struct vd_disk_name */
	VD_NR_TREE_ROOTS = 16
};

/* Space maps kept in the superblock. */
enum vd_sm_index {
	VD_SM_METADATA = 0,
	VD_SM_DATA = 1,
	VD_SM_SSD = 2,			/* reserved: SSD tier */
	VD_NR_SPACE_MAPS = 4
};

struct vd_superblock {
	struct vd_block_header hdr;	/*    0 */
	__le32 version;			/*   24 */
	__le32 metadata_block_size;	/*   28: bytes, 4096 */
	__le64 compat_flags;		/*   32 */
	__le64 ro_compat_flags;		/*   40 */
	__le64 incompat_flags;		/*   48 */
	__u8 uuid[16];			/*   56 */
	__le32 data_block_size;		/*   72: sectors */
	__le32 flags;			/*   76: VD_SB_FLAG_* */
	__le64 nr_data_blocks;		/*   80 */
	__le64 nr_metadata_blocks;	/*   88 */
	__le64 transaction_id;		/*   96: pool level, set_transaction_id */
	__le64 commit_seq;		/*  104: bumped by every commit */
	struct vd_block_ref held_root;	/*  112: metadata snapshot, 0 = none */
	__le64 time;			/*  128: snapshot time counter */
	/*
	 * 136: commit_seq of the commit before this one (0: not recorded, by
	 * older code: then it is commit_seq - 1).  Commits after a rollback
	 * skip sequence numbers (the rolled-back transaction's blocks carry
	 * its number, which is never used again), so the other slot must hold
	 * exactly this, or a superblock write was lost.
	 */
	__le64 prev_commit_seq;
	__le64 reserved1[6];		/*  144 */
	struct vd_sm_root sm_roots[VD_NR_SPACE_MAPS];	/*  192 (4 x 64) */
	struct vd_block_ref tree_roots[VD_NR_TREE_ROOTS];	/*  448 (16 x 16) */
	__u8 reserved2[VD_METADATA_BLOCK_SIZE - 704];	/*  704 */
};

#define VD_SB_FLAG_NEEDS_CHECK		(1U << 0)

/* ---------------------------------------------------------------------- */
/* B+tree node.                                                           */
/* ---------------------------------------------------------------------- */

#define VD_BTREE_NODE_INTERNAL		(1U << 0)
#define VD_BTREE_NODE_LEAF		(1U << 1)

/*
 * Keys are __le64, strictly increasing.  In an internal node key[i] is the
 * lowest key of child i (child i covers [key[i], key[i+1])), and values are
 * struct vd_block_ref (child location and transaction; value_size 16).
 * Leaves hold value_size-byte values.  The keys array has max_entries slots
 * followed by the values array.
 */
struct vd_btree_node_header {
	struct vd_block_header hdr;	/*  0 */
	__le32 flags;			/* 24 */
	__le32 nr_entries;		/* 28 */
	__le32 max_entries;		/* 32 */
	__le32 value_size;		/* 36 */
	__le64 reserved;		/* 40 */
};

#define VD_BTREE_NODE_HEADER_SIZE	48U
#define VD_BTREE_INTERNAL_VALUE_SIZE	VD_BLOCK_REF_SIZE
#define VD_BTREE_MAX_VALUE_SIZE		1024U
/* max_entries for a given value size; kept a multiple of 3 (so that three-way
 * rebalancing splits evenly) is not required: any value <= this is accepted.
 */
#define VD_BTREE_MAX_ENTRIES(vsize) \
	((VD_METADATA_BLOCK_SIZE - VD_BTREE_NODE_HEADER_SIZE) / (8U + (vsize)))

/* ---------------------------------------------------------------------- */
/* Space maps: refcount ("bitmap") blocks and index entries.              */
/* ---------------------------------------------------------------------- */

/*
 * One byte per block: 0..254 is the count; VD_SM_COUNT_OVERFLOW means the
 * count (>= 255) is in the overflow tree.
 */
#define VD_SM_COUNT_OVERFLOW		255U
#define VD_SM_BITMAP_HEADER_SIZE	32U
#define VD_SM_ENTRIES_PER_BITMAP	(VD_METADATA_BLOCK_SIZE - VD_SM_BITMAP_HEADER_SIZE)

struct vd_sm_bitmap {
	struct vd_block_header hdr;
	__le32 nr_free;			/* blocks with count 0 in this bitmap */
	__le32 reserved;
	__u8 counts[VD_SM_ENTRIES_PER_BITMAP];
};

/* Value of the space map index tree (key = bitmap number). */
struct vd_sm_index_entry {
	struct vd_block_ref bitmap;	/* the vd_sm_bitmap */
	__le32 nr_free;			/* copy of the bitmap's nr_free */
	__le32 first_free;		/* no free entry below this index */
};

/* ---------------------------------------------------------------------- */
/* Pool metadata values.                                                  */
/* ---------------------------------------------------------------------- */

#define VD_DISK_FLAG_SNAPSHOT		(1U << 0)	/* created by snapshot */
#define VD_DISK_FLAG_DELETING		(1U << 1)
/* Kept for the user (vd_pool_set_user_flags()): activate at pool start. */
#define VD_DISK_FLAG_AUTO_ACTIVATE	(1U << 2)
#define VD_DISK_FLAG_USER_MASK		(VD_DISK_FLAG_AUTO_ACTIVATE)

/*
 * Values of the vdisks tree (key = vdisk id) and of the pending-deletion
 * tree (key = sequence) are struct vd_block_ref: roots of mapping trees.
 */

/* Value of the details tree (key = vdisk id). */
struct vd_disk_details {
	__le64 size_sectors;
	__le64 creation_time;		/* superblock time at creation */
	__le64 snapshot_time;		/* time of the last snapshot taken of it */
	__le64 origin_id;		/* parent for snapshots, else ~0 */
	__le64 mapped_blocks;
	__le64 transaction_id;		/* txn of the last change */
	__le32 flags;
	__le32 reserved0;
	__le64 reserved[3];
};

#define VD_DISK_DETAILS_SIZE		80U
#define VD_DISK_NO_ORIGIN		(~0ULL)

/*
 * Value of the name map (key = vdisk id; root VD_ROOT_NAME_MAP, absent until
 * the first name is set, see VD_FEATURE_RO_COMPAT_NAME_MAP).  Only live
 * vdisks have entries.  @name: 1..VD_DISK_NAME_SIZE-1 bytes of
 * [A-Za-z0-9_.+:-], not starting with '-' or '.', NUL-padded to the end
 * (the last byte is always 0).  Names are unique among entries.  Keyed by id
 * because keys are u64: finding a name scans the map (about 56 names per
 * leaf; pools have hundreds of vdisks).
 */
#define VD_DISK_NAME_SIZE		64U

struct vd_disk_name {
	__u8 name[VD_DISK_NAME_SIZE];
};

/*
 * Mapping value (leaf value of a vdisk's mapping tree, key = virtual block):
 *   bits  0..47  physical data block number
 *   bit   48     block lives on the SSD tier
 *   bits 49..52  compression fragment slot: 0 = not compressed, else the
 *                fragment's slot (1..15) inside a shared packed block
 *   bits 53..63  reserved, must be zero
 */
#define VD_MAP_BLOCK_BITS		48
#define VD_MAP_BLOCK_MASK		((1ULL << VD_MAP_BLOCK_BITS) - 1)
#define VD_MAP_SSD			(1ULL << 48)
#define VD_MAP_SLOT_SHIFT		49
#define VD_MAP_SLOT_BITS		4
#define VD_MAP_SLOT_MASK \
	(((1ULL << VD_MAP_SLOT_BITS) - 1) << VD_MAP_SLOT_SHIFT)
#define VD_MAP_MAX_SLOT			((1U << VD_MAP_SLOT_BITS) - 1)
#define VD_MAP_RESERVED_MASK		(~((1ULL << 53) - 1))

#define VD_MAP_PACK(block, ssd, slot) \
	(((__u64)(block) & VD_MAP_BLOCK_MASK) | ((ssd) ? VD_MAP_SSD : 0) | \
	 (((__u64)(slot) << VD_MAP_SLOT_SHIFT) & VD_MAP_SLOT_MASK))
#define VD_MAP_BLOCK(v)			((v) & VD_MAP_BLOCK_MASK)
#define VD_MAP_IS_SSD(v)		(!!((v) & VD_MAP_SSD))
#define VD_MAP_SLOT(v) \
	((unsigned int)(((v) & VD_MAP_SLOT_MASK) >> VD_MAP_SLOT_SHIFT))

/* ---------------------------------------------------------------------- */
/* Compile-time size checks.                                              */
/* ---------------------------------------------------------------------- */

/* A negative array size stops the build if a layout is wrong. */
#define VD_SIZE_CHECK(name, e)	extern char vd_size_check_##name[(e) ? 1 : -1]

VD_SIZE_CHECK(block_header, sizeof(struct vd_block_header) == VD_BLOCK_HEADER_SIZE);
VD_SIZE_CHECK(sm_root, sizeof(struct vd_sm_root) == VD_SM_ROOT_SIZE);
VD_SIZE_CHECK(superblock, sizeof(struct vd_superblock) == VD_METADATA_BLOCK_SIZE);
VD_SIZE_CHECK(node_header, sizeof(struct vd_btree_node_header) == VD_BTREE_NODE_HEADER_SIZE);
VD_SIZE_CHECK(sm_bitmap, sizeof(struct vd_sm_bitmap) == VD_METADATA_BLOCK_SIZE);
VD_SIZE_CHECK(sm_index_entry, sizeof(struct vd_sm_index_entry) == 24);
VD_SIZE_CHECK(block_ref, sizeof(struct vd_block_ref) == VD_BLOCK_REF_SIZE);
VD_SIZE_CHECK(disk_details, sizeof(struct vd_disk_details) == VD_DISK_DETAILS_SIZE);
VD_SIZE_CHECK(disk_name, sizeof(struct vd_disk_name) == VD_DISK_NAME_SIZE);

#endif /* _UAPI_LINUX_DM_VDISK_FORMAT_H */
