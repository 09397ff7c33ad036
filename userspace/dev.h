/* SPDX-License-Identifier: GPL-2.0 */
/* Block device helpers: sizes, major:minor, paths. */
#ifndef LM_DEV_H
#define LM_DEV_H

#include <stddef.h>
#include <stdint.h>

/* Path or "MAJ:MIN" -> devno; 0 or LM_EXIT_* with a message printed. */
int dev_devno(const char *path, uint32_t *maj, uint32_t *min);
/* "MAJ:MIN" -> a usable /dev path (sysfs DEVNAME, else a private node). */
int dev_path(const char *ref, char *buf, size_t len);
/* Size in 512-byte sectors and logical block size; 0 or LM_EXIT_*. */
int dev_size(const char *ref, uint64_t *sectors, uint32_t *lbs);
/* "MAJ:MIN" string for a table. */
int dev_table_ref(const char *path, char *buf, size_t len);

#endif
