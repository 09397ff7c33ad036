// SPDX-License-Identifier: GPL-2.0
/*
 * Table-line and message fuzzer for the livemirror target.
 *
 * Generates table lines (random ones from pools of hostile tokens, and
 * mutations of a valid line) and loads each through libdevmapper in this
 * one process, because a dmsetup process per line costs seconds in the
 * emulated test guest.  Every line must be either rejected with a message
 * from the target in the kernel log, or accepted and working: status answers
 * and a written block reads back.  Accepted devices also get random
 * messages.  The kernel log itself is scanned by the guest runner.
 *
 * usage: fuzz_table META SRC DST COUNT SEED
 * META, SRC, DST: scratch devices (SRC and DST the same size, DST written).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define DEV_NAME "lm-fuzz"
#define MAX_ARGS 14

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed, no libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int pick(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static const char *meta, *src, *dst;
static uint64_t src_sectors;
static int kmsg_fd = -1;
static int verbose;

static struct {
	unsigned long lines, accepted, rejected, rejected_with_msg, rejected_core, rejected_core_len;
	unsigned long io_ok, io_bad, status_bad, messages, messages_ok;
} st;

/* Hostile tokens, chosen for the limits the constructor has to check. */
static const char *numbers[] = {
	"0", "1", "7", "8", "9", "16", "64", "65", "128", "1024", "4096",
	"2147483647", "2147483648", "4294967295", "4294967296",
	"9223372036854775807", "9223372036854775808", "18446744073709551615",
	"18446744073709551616", "99999999999999999999999", "-1", "-8", "-0",
	"+8", "1e3", "0x10", "010", "08", "", " ", "12abc", "3.5", "1K",
};

static const char *words[] = {
	"throttle", "copy_depth", "start_paused", "dest_error", "label",
	"stop", "retry", "continue", "bogus", "THROTTLE", "label=x",
	"--", "%s%s%n", "\\", "\"", "'", "a b", "\t",
};

static char long_word[400];
static char mm_src[32], mm_dst[32], mm_meta[32];

static const char *device_token(void)
{
	switch (pick(11)) {
	case 0: return meta;
	case 1: case 2: return src;
	case 3: case 4: return dst;
	case 5: return "/dev/nonexistent";
	case 6: return "/dev/null";
	case 7: return "/tmp";
	case 8: return mm_src;
	case 9:
		/*
		 * Unknown majors make the kernel ask modprobe for a driver,
		 * which costs seconds in the emulated guest: keep them rare.
		 */
		return pick(16) ? mm_meta : (pick(2) ? "0:0" : "999:999");
	default: return mm_dst;
	}
}

static const char *any_token(void)
{
	switch (pick(4)) {
	case 0: return device_token();
	case 1: return numbers[pick(sizeof(numbers) / sizeof(numbers[0]))];
	case 2: return words[pick(sizeof(words) / sizeof(words[0]))];
	default: return pick(8) ? numbers[pick(6)] : long_word;
	}
}

struct line {
	int argc;
	char argv[MAX_ARGS][420];
	uint64_t len;
};

static void set_arg(struct line *l, int i, const char *s)
{
	snprintf(l->argv[i], sizeof(l->argv[i]), "%s", s);
}

static void valid_line(struct line *l)
{
	static const char *regions[] = { "8", "64", "128", "1024", "2048" };

	l->argc = 0;
	set_arg(l, l->argc++, pick(2) ? meta : mm_meta);
	set_arg(l, l->argc++, src);
	set_arg(l, l->argc++, dst);
	set_arg(l, l->argc++, regions[pick(5)]);
	l->len = src_sectors;
	if (pick(2)) {
		int nfeat = 0, base = l->argc++;

		if (pick(2)) {
			set_arg(l, l->argc++, "throttle");
			set_arg(l, l->argc++, numbers[pick(8)]);
			nfeat += 2;
		}
		if (pick(2)) {
			set_arg(l, l->argc++, "copy_depth");
			set_arg(l, l->argc++, numbers[1 + pick(6)]);
			nfeat += 2;
		}
		if (pick(2)) {
			set_arg(l, l->argc++, "start_paused");
			nfeat++;
		}
		if (pick(2)) {
			set_arg(l, l->argc++, "dest_error");
			set_arg(l, l->argc++, pick(2) ? "stop" : "retry");
			nfeat += 2;
		}
		snprintf(l->argv[base], sizeof(l->argv[base]), "%d", nfeat);
	}
}

static void mutate(struct line *l)
{
	int n = 1 + pick(3), i, j;
	char tmp[420];

	while (n--) {
		switch (pick(7)) {
		case 0:	/* drop an argument */
			if (l->argc > 0) {
				i = pick(l->argc);
				memmove(l->argv[i], l->argv[i + 1], (l->argc - i - 1) * sizeof(l->argv[0]));
				l->argc--;
			}
			break;
		case 1:	/* add one */
			if (l->argc < MAX_ARGS)
				set_arg(l, l->argc++, any_token());
			break;
		case 2:	/* replace one */
			if (l->argc > 0)
				set_arg(l, pick(l->argc), any_token());
			break;
		case 3:	/* swap two */
			if (l->argc > 1) {
				i = pick(l->argc);
				j = pick(l->argc);
				memcpy(tmp, l->argv[i], sizeof(tmp));
				memcpy(l->argv[i], l->argv[j], sizeof(tmp));
				memcpy(l->argv[j], tmp, sizeof(tmp));
			}
			break;
		case 4:	/* length off by one, or wildly off */
			l->len = src_sectors + (pick(2) ? 1 : -1) * (pick(3) ? 1 : (int64_t)pick(1 << 20));
			if (!l->len)
				l->len = 1;
			break;
		case 5:	/* same device twice */
			if (l->argc > 2)
				set_arg(l, 1 + pick(2), pick(2) ? meta : dst);
			break;
		default:	/* a number at a limit */
			if (l->argc > 3)
				set_arg(l, 3 + pick(l->argc - 3), numbers[pick(sizeof(numbers) / sizeof(numbers[0]))]);
			break;
		}
	}
}

static void random_line(struct line *l)
{
	l->argc = pick(MAX_ARGS + 1);
	for (int i = 0; i < l->argc; i++)
		set_arg(l, i, any_token());
	l->len = pick(4) ? src_sectors : 1 + pick(1 << 22);
}

static void join(const struct line *l, char *buf, size_t sz)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < l->argc && off < sz; i++)
		off += snprintf(buf + off, sz - off, "%s%s", i ? " " : "", l->argv[i]);
}

/* Drain /dev/kmsg; return 1 when a livemirror constructor error was logged. */
static int kmsg_saw_target_error(void)
{
	char rec[2048];
	int found = 0;
	ssize_t n;

	while ((n = read(kmsg_fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, "livemirror:"))
			found = 1;
		if (verbose)
			fprintf(stderr, "  kmsg: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
	}
	return found;
}

static void quiet_log(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
	(void)level; (void)file; (void)line; (void)dm_errno; (void)f;
}

static int dm_simple(int type, const char *msg, char *out, size_t outsz, uint32_t *minor)
{
	struct dm_task *dmt = dm_task_create(type);
	int ok = 0;

	if (!dmt)
		return 0;
	if (!dm_task_set_name(dmt, DEV_NAME))
		goto out;
	if (msg && (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg)))
		goto out;
	if (!dm_task_run(dmt))
		goto out;
	ok = 1;
	if (type == DM_DEVICE_STATUS && out) {
		uint64_t start, length;
		char *ttype = NULL, *params = NULL;

		dm_get_next_target(dmt, NULL, &start, &length, &ttype, &params);
		snprintf(out, outsz, "%s", params ? params : "");
	}
	if (minor) {
		struct dm_info info;

		if (dm_task_get_info(dmt, &info))
			*minor = info.minor;
	}
out:
	dm_task_destroy(dmt);
	return ok;
}

static int create(const char *params, uint64_t len, uint32_t *minor)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_CREATE);
	struct dm_info info;
	int ok = 0;

	if (!dmt)
		return 0;
	if (dm_task_set_name(dmt, DEV_NAME) &&
	    dm_task_add_target(dmt, 0, len, "livemirror", params) &&
	    dm_task_run(dmt) && dm_task_get_info(dmt, &info)) {
		*minor = info.minor;
		ok = 1;
	}
	dm_task_destroy(dmt);
	return ok;
}

static void remove_dev(void)
{
	for (int i = 0; i < 50; i++) {
		if (dm_simple(DM_DEVICE_REMOVE, NULL, NULL, 0, NULL))
			return;
		usleep(100000);
	}
	fprintf(stderr, "fuzz_table: cannot remove %s\n", DEV_NAME);
	exit(1);
}

/* An accepted device must work: status answers, a write reads back. */
static void exercise(uint32_t minor, uint64_t len)
{
	static const char *msgs[] = {
		"pause", "resume", "throttle 5", "throttle 0", "throttle -1",
		"throttle 99999999999999999999", "throttle", "copy_depth 0",
		"copy_depth 1", "copy_depth 64", "copy_depth 65", "copy_depth x",
		"retry", "switch", "cancel", "abort_prepare", "prepare", "prepare x y z w",
		"prepare 00000000000000000000000000000000 00000000000000000000000000000000 1 0",
		"", "bogus", "pause extra", "resume resume", "throttle 1 2",
	};
	char status[512], path[64], buf[4096], back[4096];
	int fd;

	if (!dm_simple(DM_DEVICE_STATUS, NULL, status, sizeof(status), NULL) || !strchr(status, '/'))
		st.status_bad++;
	snprintf(path, sizeof(path), "/dev/dm-%u", minor);
	fd = open(path, O_RDWR | O_DIRECT | O_SYNC);
	if (fd >= 0 && len >= 16) {
		void *a, *b;
		off_t off = (off_t)(pick((unsigned int)((len - 8) / 8)) * 4096ULL);

		if (posix_memalign(&a, 4096, 4096) || posix_memalign(&b, 4096, 4096))
			exit(1);
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (char)rnd();
		memcpy(a, buf, 4096);
		if (off + 4096 <= (off_t)(len * 512) &&
		    pwrite(fd, a, 4096, off) == 4096 && pread(fd, b, 4096, off) == 4096) {
			memcpy(back, b, 4096);
			if (memcmp(buf, back, 4096))
				st.io_bad++;
			else
				st.io_ok++;
		}
		free(a);
		free(b);
	}
	if (fd >= 0)
		close(fd);
	for (int i = 0, n = pick(4); i < n; i++) {
		st.messages++;
		st.messages_ok += dm_simple(DM_DEVICE_TARGET_MSG, msgs[pick(sizeof(msgs) / sizeof(msgs[0]))],
					    NULL, 0, NULL);
	}
}

/*
 * Zero both superblock slots so that the next accepted line formats a new
 * log instead of being refused for another line's region size.
 */
static void forget_metadata(void)
{
	void *z;
	int fd = open(meta, O_WRONLY | O_DIRECT | O_SYNC);

	if (fd < 0 || posix_memalign(&z, 4096, 8192)) {
		perror(meta);
		exit(1);
	}
	memset(z, 0, 8192);
	if (pwrite(fd, z, 8192, 0) != 8192) {
		perror(meta);
		exit(1);
	}
	free(z);
	close(fd);
}

int main(int argc, char **argv)
{
	unsigned long count;
	struct stat sb;
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: fuzz_table META SRC DST COUNT SEED\n");
		return 2;
	}
	meta = argv[1];
	src = argv[2];
	dst = argv[3];
	count = strtoul(argv[4], NULL, 0);
	rng_state = strtoull(argv[5], NULL, 0) | 1;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	memset(long_word, 'x', sizeof(long_word) - 1);

	fd = open(src, O_RDONLY);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &src_sectors)) {
		perror(src);
		return 1;
	}
	src_sectors >>= 9;
	close(fd);
	if (stat(src, &sb) == 0)
		snprintf(mm_src, sizeof(mm_src), "%u:%u", major(sb.st_rdev), minor(sb.st_rdev));
	if (stat(dst, &sb) == 0)
		snprintf(mm_dst, sizeof(mm_dst), "%u:%u", major(sb.st_rdev), minor(sb.st_rdev));
	if (stat(meta, &sb) == 0)
		snprintf(mm_meta, sizeof(mm_meta), "%u:%u", major(sb.st_rdev), minor(sb.st_rdev));

	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg_fd < 0) {
		perror("/dev/kmsg");
		return 1;
	}
	lseek(kmsg_fd, 0, SEEK_END);
	dm_log_with_errno_init(quiet_log);

	for (unsigned long i = 0; i < count; i++) {
		struct line l;
		char params[MAX_ARGS * 421];
		uint32_t minor = 0;
		int ok;

		if (pick(3))
			valid_line(&l), mutate(&l);
		else if (pick(2))
			random_line(&l);
		else
			valid_line(&l);
		join(&l, params, sizeof(params));
		st.lines++;
		if (verbose)
			fprintf(stderr, "line %lu: len %" PRIu64 ": %s\n", i, l.len, params);
		kmsg_saw_target_error();
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		ok = create(params, l.len, &minor);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (verbose)
			fprintf(stderr, "  create: %s in %ld ms\n", ok ? "accepted" : "rejected",
				(long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
		if (ok) {
			st.accepted++;
			exercise(minor, l.len);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			remove_dev();
			forget_metadata();
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (verbose)
				fprintf(stderr, "  exercise+remove: %ld ms\n",
					(long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
		} else {
			st.rejected++;
			if (kmsg_saw_target_error())
				st.rejected_with_msg++;
			else if (l.len > (1ULL << 40))
				st.rejected_core_len++;	/* dm core: device too big */
			else {
				st.rejected_core++;
				fprintf(stderr, "rejected without a target message: len %" PRIu64 ": %s\n",
					l.len, params);
			}
		}
	}
	printf("lines=%lu accepted=%lu rejected=%lu rejected_with_target_msg=%lu rejected_by_dm_core=%lu "
	       "rejected_huge_length=%lu "
	       "io_ok=%lu io_bad=%lu status_bad=%lu messages=%lu messages_ok=%lu\n",
	       st.lines, st.accepted, st.rejected, st.rejected_with_msg, st.rejected_core,
	       st.rejected_core_len,
	       st.io_ok, st.io_bad, st.status_bad, st.messages, st.messages_ok);
	return st.io_bad || st.status_bad ? 1 : 0;
}
