// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: delay points of the test build only (LM_TEST_HOOKS; see
 * livemirror.h).  A guest test sets test_delay_ms=<point>,<ms> to stall the
 * next passes through one point, which turns a window of nanoseconds into
 * one a shell script can hit.  test_delay_count says how many passes wait
 * (0: every pass), so that a test can delay one search and not the copier
 * for ever.
 *
 * Contexts: lm_test_delay() runs wherever its point is; every point is in
 * process context (the copier's work item, a message ioctl, the worker:
 * lm_test_delay_in() skips map(), which reaches lm_issue() too), so it
 * sleeps.
 */
#include <linux/module.h>
#include <linux/delay.h>
#include "livemirror.h"

static int lm_tp_point = -1;
static unsigned int lm_tp_ms;
static atomic_t lm_tp_left = ATOMIC_INIT(-1);

static int lm_tp_set(const char *val, const struct kernel_param *kp)
{
	int point;
	unsigned int ms;

	if (sscanf(val, "%d,%u", &point, &ms) != 2 || point < -1 ||
	    point >= LM_TP_NR || ms > 60000)
		return -EINVAL;
	WRITE_ONCE(lm_tp_ms, ms);
	WRITE_ONCE(lm_tp_point, point);
	return 0;
}

static int lm_tp_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d,%u\n", READ_ONCE(lm_tp_point),
			  READ_ONCE(lm_tp_ms));
}

static const struct kernel_param_ops lm_tp_ops = {
	.set = lm_tp_set,
	.get = lm_tp_get,
};
module_param_cb(test_delay_ms, &lm_tp_ops, NULL, 0644);
MODULE_PARM_DESC(test_delay_ms, "test build: POINT,MS delays a point (-1,0: none)");

static int lm_tp_count_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;

	if (kstrtouint(val, 0, &n))
		return -EINVAL;
	atomic_set(&lm_tp_left, n ? n : -1);
	return 0;
}

static int lm_tp_count_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&lm_tp_left));
}

static const struct kernel_param_ops lm_tp_count_ops = {
	.set = lm_tp_count_set,
	.get = lm_tp_count_get,
};
module_param_cb(test_delay_count, &lm_tp_count_ops, NULL, 0644);
MODULE_PARM_DESC(test_delay_count, "test build: passes left to delay (0: all)");

void lm_test_delay(enum lm_test_point p)
{
	unsigned int ms = READ_ONCE(lm_tp_ms);
	int left;

	if (READ_ONCE(lm_tp_point) != p || !ms)
		return;
	/* -1: every pass; otherwise count down to 0 and stop */
	do {
		left = atomic_read(&lm_tp_left);
		if (!left)
			return;
	} while (left > 0 && atomic_cmpxchg(&lm_tp_left, left, left - 1) != left);
	pr_info_ratelimited("livemirror: test build: delaying point %d by %u ms\n",
			    p, ms);
	msleep(ms);
}
