// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: the identity strings that bind a log to its mapped device
 * and its legs (format in dm-dirtylog/dirtylog-format.h).
 *
 * An identity must name the same device after a rename or a reboot: the
 * dm uuid for dm devices (LVs included), the disk's own unique id (what
 * SCSI VPD page 0x83 or NVMe report, through ->get_unique_id) for disks,
 * or what the table gives (source_id, dest_id, device_id).  Devices with none of these get a weak one,
 * which the log never trusts across a reboot.
 *
 * Contexts: process context, from the constructor only.
 */
#include <linux/dm-ioctl.h>
#include <linux/slab.h>
#include "livemirror.h"

/* "dm:<uuid>", or "dm-name:<name>" (weak) for a dm device without one. */
static void lm_md_identity(struct mapped_device *md, char *buf)
{
	char *name, *uuid;

	name = kmalloc(DM_NAME_LEN + DM_UUID_LEN, GFP_KERNEL);
	if (!name || dm_copy_name_and_uuid(md, name, name + DM_NAME_LEN)) {
		/* cannot happen for a live md; weak, so never trusted */
		snprintf(buf, LM_ID_LEN, "dev:%u:%u", MAJOR(disk_devt(dm_disk(md))),
			 MINOR(disk_devt(dm_disk(md))));
		kfree(name);
		return;
	}
	uuid = name + DM_NAME_LEN;
	if (*uuid)
		snprintf(buf, LM_ID_LEN, "dm:%s", uuid);
	else
		snprintf(buf, LM_ID_LEN, "dm-name:%s", name);
	kfree(name);
}

/* The disk's unique id, most specific designator first. */
static bool lm_disk_identity(struct block_device *bdev, char *buf)
{
	static const struct {
		enum blk_unique_id type;
		const char *prefix;
	} kinds[] = {
		{ BLK_UID_NAA, "naa" },
		{ BLK_UID_EUI64, "eui" },
		{ BLK_UID_T10, "t10" },
	};
	struct gendisk *disk = bdev->bd_disk;
	u8 id[16];
	unsigned int i;
	int len;

	if (!disk->fops->get_unique_id)
		return false;
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		len = disk->fops->get_unique_id(disk, id, kinds[i].type);
		if (len <= 0 || len > sizeof(id))
			continue;
		if (bdev_is_partition(bdev))
			snprintf(buf, LM_ID_LEN, "%s:%*phN-p%u", kinds[i].prefix,
				 len, id, bdev->bd_partno);
		else
			snprintf(buf, LM_ID_LEN, "%s:%*phN", kinds[i].prefix,
				 len, id);
		return true;
	}
	return false;
}

void lm_leg_identity(struct block_device *bdev, const char *given, char *buf)
{
	struct mapped_device *md;

	if (*given) {
		snprintf(buf, LM_ID_LEN, "user:%s", given);
		return;
	}
	md = dm_get_md(bdev->bd_dev);
	if (md) {
		lm_md_identity(md, buf);
		dm_put(md);
		return;
	}
	if (lm_disk_identity(bdev, buf))
		return;
	snprintf(buf, LM_ID_LEN, "dev:%u:%u", MAJOR(bdev->bd_dev),
		 MINOR(bdev->bd_dev));
}

void lm_device_identity(struct dm_target *ti, const char *given, char *buf)
{
	if (*given)
		snprintf(buf, LM_ID_LEN, "user:%s", given);
	else
		lm_md_identity(dm_table_get_md(ti->table), buf);
}
