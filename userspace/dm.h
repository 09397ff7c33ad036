/* SPDX-License-Identifier: GPL-2.0 */
/* Thin wrappers over libdevmapper. */
#ifndef LM_DM_H
#define LM_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lm_dminfo {
	bool exists;
	bool suspended;
	bool live_table;
	bool inactive_table;
	int open_count;
	uint32_t event_nr;
	uint32_t major, minor;
	char name[128];
	char uuid[130];
};

struct lmdm_target {
	uint64_t start, length;
	char type[32];
	char *params;
};

struct lmdm_table {
	int n;
	struct lmdm_target *t;
};

void lmdm_init(void);
void lmdm_exit(void);
const char *lmdm_last_error(void);

/* DEV as name, /dev/mapper/NAME or a dm block device path -> name. LM_EXIT_*. */
int lmdm_resolve(const char *arg, char *name, size_t len);
int lmdm_info(const char *name, struct lm_dminfo *i);		/* 0 / -1 */
int lmdm_info_devno(uint32_t major, uint32_t minor, struct lm_dminfo *i);
/* Live table (status=false) or INFO status (status=true). */
int lmdm_get_table(const char *name, bool status, struct lmdm_table *t);
void lmdm_table_free(struct lmdm_table *t);
int lmdm_table_add(struct lmdm_table *t, uint64_t start, uint64_t len,
		   const char *type, const char *params);
uint64_t lmdm_table_length(const struct lmdm_table *t);

int lmdm_message(const char *name, const char *msg);
int lmdm_suspend(const char *name);
int lmdm_resume(const char *name);
int lmdm_load(const char *name, const struct lmdm_table *t);
int lmdm_clear(const char *name);
int lmdm_create(const char *name, const char *uuid, const struct lmdm_table *t,
		struct lm_dminfo *out);
/* A hidden layer: udev disk, subsystem (LVM) and other rules disabled. */
int lmdm_create_private(const char *name, const char *uuid, const struct lmdm_table *t,
			struct lm_dminfo *out);
int lmdm_create_flags(const char *name, const char *uuid, const struct lmdm_table *t,
		      struct lm_dminfo *out, uint16_t udev_flags);
/* Retries while the device is briefly open (EBUSY). */
int lmdm_remove(const char *name);
/* Block until the event counter moves past event_nr; -1 with errno (EINTR). */
int lmdm_waitevent(const char *name, uint32_t event_nr);

#endif
