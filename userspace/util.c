// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "util.h"

int lm_verbose;
static char last_err[512];

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", LM_PROG, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void lm_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}

const char *lm_last_error_msg(void)
{
	return last_err;
}

void lm_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void lm_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void lm_debug(const char *fmt, ...)
{
	va_list ap;

	if (!lm_verbose)
		return;
	va_start(ap, fmt);
	vmsg("debug: ", fmt, ap);
	va_end(ap);
}

int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const struct { const char *suf; unsigned int shift; } sufs[] = {
		{ "", 0 }, { "b", 0 }, { "B", 0 }, { "s", 9 }, { "S", 9 },
		{ "k", 10 }, { "K", 10 }, { "KiB", 10 }, { "KB", 10 },
		{ "m", 20 }, { "M", 20 }, { "MiB", 20 }, { "MB", 20 },
		{ "g", 30 }, { "G", 30 }, { "GiB", 30 }, { "GB", 30 },
		{ "t", 40 }, { "T", 40 }, { "TiB", 40 }, { "TB", 40 },
		{ "p", 50 }, { "P", 50 }, { "PiB", 50 }, { "PB", 50 },
	};
	char num[32];
	size_t n = 0;
	uint64_t v;

	if (!s)
		return -1;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = 0;
	if (parse_u64(num, UINT64_MAX, &v))
		return -1;
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++) {
		if (strcmp(s + n, sufs[i].suf))
			continue;
		if (sufs[i].shift && v > (UINT64_MAX >> sufs[i].shift))
			return -1;
		*bytes = v << sufs[i].shift;
		return 0;
	}
	return -1;
}

int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

void fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

void fmt_duration(double secs, char *buf, size_t len)
{
	unsigned long long s;

	if (secs < 0 || secs > 1e12) {
		snprintf(buf, len, "unknown");
		return;
	}
	s = (unsigned long long)(secs + 0.5);
	if (s >= 3600)
		snprintf(buf, len, "%lluh%02llum%02llus", s / 3600, (s / 60) % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%llus", s);
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, uint8_t *out, size_t n)
{
	if (strlen(in) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int h = hexval(in[2 * i]), l = hexval(in[2 * i + 1]);

		if (h < 0 || l < 0)
			return -1;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

int random_bytes(uint8_t *out, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < n) {
		ssize_t r = read(fd, out + done, n - done);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		done += (size_t)r;
	}
	close(fd);
	return 0;
}

bool all_zero(const void *buf, size_t n)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

bool label_valid(const char *label)
{
	size_t n = strlen(label);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)label[i]))
			return false;
	return true;
}

void label_from_uuid(const char *uuid, char *out, size_t len)
{
	char tmp[256];
	size_t n = 0;

	for (const char *p = uuid; *p && n < sizeof(tmp) - 1; p++)
		tmp[n++] = isalnum((unsigned char)*p) || *p == '-' || *p == '_' ||
			   *p == '.' ? *p : '_';
	tmp[n] = 0;
	if (n <= 63) {
		snprintf(out, len, "%s", n ? tmp : "unnamed");
		return;
	}
	/* Too long: keep a prefix and make it unique with a hash. */
	snprintf(out, len, "%.54s~%08x", tmp, crc32c(uuid, strlen(uuid)));
}

#ifdef LM_TEST_HOOKS
void crash_point(const char *fmt, ...)
{
	const char *want = getenv("LIVEMIRROR_CRASH_AT");
	const char *trace = getenv("LIVEMIRROR_CRASH_TRACE");
	char name[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (trace && *trace && strcmp(trace, "0"))
		fprintf(stderr, "crash-point: %s\n", name);
	if (want && !strcmp(want, name)) {
		const char *hold = getenv("LIVEMIRROR_CRASH_HOLD");

		fprintf(stderr, "%s: crash injected at %s\n", LM_PROG, name);
		fflush(NULL);
		if (hold && *hold) {
			/* a power cut: tell the test, then stop until it comes */
			int fd = open(hold, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd >= 0) {
				bool ok = write(fd, name, strlen(name)) >= 0;

				fsync(fd);
				close(fd);
				if (!ok)
					_exit(99);
			}
			for (;;)
				pause();
		}
		_exit(99);
	}
}

bool fail_point(const char *fmt, ...)
{
	const char *want = getenv("LIVEMIRROR_FAIL_AT");
	const char *trace = getenv("LIVEMIRROR_CRASH_TRACE");
	char name[128];
	va_list ap;

	if ((!want || !*want) && !(trace && *trace && strcmp(trace, "0")))
		return false;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (trace && *trace && strcmp(trace, "0"))
		fprintf(stderr, "fail-point: %s\n", name);
	if (!want || strcmp(want, name))
		return false;
	fprintf(stderr, "%s: failure injected at %s\n", LM_PROG, name);
	errno = EIO;
	return true;
}
#endif

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
