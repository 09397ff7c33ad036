/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LM_CMDS_H
#define LM_CMDS_H

#include "args.h"

int cmd_create(struct lm_args *a);
int cmd_start(struct lm_args *a);
int cmd_cancel(struct lm_args *a);
int cmd_status(struct lm_args *a);
int cmd_wait(struct lm_args *a);
int cmd_events(struct lm_args *a);
int cmd_simple_message(struct lm_args *a);	/* pause resume retry throttle copy-depth */
int cmd_switch(struct lm_args *a);
int cmd_recover(struct lm_args *a);
int cmd_recover_scan(struct lm_args *a);	/* recover --scan (scan.c) */
int cmd_recover_any(struct lm_args *a);	/* recover, or recover --live */
int cmd_guard(struct lm_args *a);		/* stale.c */
int cmd_lvmove(struct lm_args *a);		/* lvmove.c */
int cmd_lvm_finish(struct lm_args *a);		/* lvmfinish.c */
int cmd_boot(struct lm_args *a);		/* boot.c */
int cmd_meta_dump(struct lm_args *a);
int cmd_meta_check(struct lm_args *a);
int cmd_meta_repair(struct lm_args *a);
int cmd_meta_measure(struct lm_args *a);

#endif
