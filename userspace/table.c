// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

#define MAX_WORDS 32

static int split(char *s, char **w, int max)
{
	int n = 0;

	for (char *tok = strtok(s, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		if (n == max)
			return -1;
		w[n++] = tok;
	}
	return n;
}

static int copy_word(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -1;
	strcpy(dst, src);
	return 0;
}

int lm_table_parse(const char *params, struct lm_table *t, char *why, size_t len)
{
	char buf[1024];
	char *w[MAX_WORDS];
	uint64_t nfeat, v;
	int n, i;

	memset(t, 0, sizeof(*t));
	if (strlen(params) >= sizeof(buf)) {
		snprintf(why, len, "table too long");
		return -1;
	}
	strcpy(buf, params);
	n = split(buf, w, MAX_WORDS);
	if (n < 4) {
		snprintf(why, len, "expected <meta> <source> <dest> <region_size> [features]");
		return -1;
	}
	if (copy_word(t->meta, sizeof(t->meta), w[0]) ||
	    copy_word(t->source, sizeof(t->source), w[1]) ||
	    copy_word(t->dest, sizeof(t->dest), w[2])) {
		snprintf(why, len, "device name too long");
		return -1;
	}
	if (parse_u64(w[3], UINT64_MAX, &t->region_sectors) || t->region_sectors < 8 ||
	    (t->region_sectors & (t->region_sectors - 1))) {
		snprintf(why, len, "bad region size '%s'", w[3]);
		return -1;
	}
	if (n == 4)
		return 0;
	if (parse_u64(w[4], 64, &nfeat) || (int)nfeat != n - 5) {
		snprintf(why, len, "feature count '%s' does not match %d words", w[4], n - 5);
		return -1;
	}
	for (i = 5; i < n; i++) {
		if (!strcmp(w[i], "start_paused")) {
			t->start_paused = true;
			continue;
		}
		if (!strcmp(w[i], "reuse_metadata")) {
			t->reuse_metadata = true;
			continue;
		}
		if (!strcmp(w[i], "trust_log")) {
			t->trust_log = true;
			continue;
		}
		if (i + 1 >= n) {
			snprintf(why, len, "feature '%s' needs an argument", w[i]);
			return -1;
		}
		if (!strcmp(w[i], "throttle")) {
			if (parse_u64(w[i + 1], UINT32_MAX, &t->throttle))
				goto bad;
			t->have_throttle = true;
		} else if (!strcmp(w[i], "copy_depth")) {
			if (parse_u64(w[i + 1], LM_MAX_COPY_DEPTH, &v) || !v)
				goto bad;
			t->copy_depth = (uint32_t)v;
		} else if (!strcmp(w[i], "dest_error")) {
			if (strcmp(w[i + 1], "stop") && strcmp(w[i + 1], "retry"))
				goto bad;
			strcpy(t->dest_error, w[i + 1]);
		} else if (!strcmp(w[i], "label")) {
			if (copy_word(t->label, sizeof(t->label), w[i + 1]))
				goto bad;
		} else if (!strcmp(w[i], "source_id")) {
			if (copy_word(t->source_id, sizeof(t->source_id), w[i + 1]))
				goto bad;
		} else if (!strcmp(w[i], "dest_id")) {
			if (copy_word(t->dest_id, sizeof(t->dest_id), w[i + 1]))
				goto bad;
		} else {
			snprintf(why, len, "unknown feature '%s'", w[i]);
			return -1;
		}
		i++;
		continue;
bad:
		snprintf(why, len, "bad value '%s' for feature '%s'", w[i + 1], w[i]);
		return -1;
	}
	return 0;
}

int lm_table_format(const struct lm_table *t, char *buf, size_t len)
{
	char feat[768] = "";
	int nfeat = 0, r;
	size_t fl = 0;

#define ADDF(...) do { \
		int k = snprintf(feat + fl, sizeof(feat) - fl, __VA_ARGS__); \
		if (k < 0 || (size_t)k >= sizeof(feat) - fl) \
			return -1; \
		fl += (size_t)k; \
	} while (0)
	if (t->have_throttle) {
		ADDF(" throttle %llu", (unsigned long long)t->throttle);
		nfeat += 2;
	}
	if (t->copy_depth) {
		ADDF(" copy_depth %u", t->copy_depth);
		nfeat += 2;
	}
	if (t->start_paused) {
		ADDF(" start_paused");
		nfeat += 1;
	}
	if (t->dest_error[0]) {
		ADDF(" dest_error %s", t->dest_error);
		nfeat += 2;
	}
	if (t->label[0]) {
		ADDF(" label %s", t->label);
		nfeat += 2;
	}
	if (t->source_id[0]) {
		ADDF(" source_id %s", t->source_id);
		nfeat += 2;
	}
	if (t->dest_id[0]) {
		ADDF(" dest_id %s", t->dest_id);
		nfeat += 2;
	}
	if (t->reuse_metadata) {
		ADDF(" reuse_metadata");
		nfeat += 1;
	}
	if (t->trust_log) {
		ADDF(" trust_log");
		nfeat += 1;
	}
#undef ADDF
	if (nfeat)
		r = snprintf(buf, len, "%s %s %s %llu %d%s", t->meta, t->source, t->dest,
			     (unsigned long long)t->region_sectors, nfeat, feat);
	else
		r = snprintf(buf, len, "%s %s %s %llu", t->meta, t->source, t->dest,
			     (unsigned long long)t->region_sectors);
	return r < 0 || (size_t)r >= len ? -1 : 0;
}
