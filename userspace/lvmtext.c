// SPDX-License-Identifier: GPL-2.0
/*
 * Edits of LVM's text metadata (the files vgcfgbackup writes and
 * vgcfgrestore reads), for the LVM fence (lvmfence.h).  Pure string code,
 * unit tested on the host (tests/lvmtext_test.c).
 *
 * The format is lvm2's config tree as lvm2 itself writes it: one
 * "key = value" or "name {" per line, a section closed by "}" on its own
 * line, nesting shown by tabs.  An LV is the section at depth 2 inside
 * "logical_volumes {", opened by "<name> {" and carrying `id = "<uuid>"`.
 * Anything that does not look like that is refused, never guessed at: the
 * caller then leaves LVM's metadata as it was.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvmtext.h"

static void why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* Start of the line that holds p. */
static const char *line_start(const char *text, const char *p)
{
	while (p > text && p[-1] != '\n')
		p--;
	return p;
}

static const char *line_end(const char *p)
{
	const char *e = strchr(p, '\n');

	return e ? e + 1 : p + strlen(p);
}

/* The LV section "\t\t<name> {" ... "\t\t}" whose id is lvuuid. */
struct lv_span {
	const char *head;	/* start of the "\t\t<name> {" line */
	const char *body;	/* start of the line after it */
	const char *close;	/* start of the "\t\t}" line */
	const char *end;	/* just after the "\t\t}" line */
	char name[LVMTEXT_NAME_MAX];
};

static int find_lv(const char *text, const char *lvuuid, struct lv_span *s, char *why,
		   size_t len)
{
	char want[80];
	const char *lvs = strstr(text, "\nlogical_volumes {\n");
	const char *id, *h, *p;
	size_t n;

	if (!lvs)
		lvs = strstr(text, "\tlogical_volumes {\n");
	if (!lvs) {
		why_set(why, len, "no logical_volumes section");
		return -1;
	}
	snprintf(want, sizeof(want), "\t\t\tid = \"%s\"\n", lvuuid);
	id = strstr(lvs, want);
	if (!id || strstr(id + 1, want)) {
		why_set(why, len, id ? "LV id %s found twice" : "no LV with id %s", lvuuid);
		return -1;
	}
	/* the id is the first line of its section: "\t\t<name> {" just before */
	h = line_start(text, id - 1);
	if (strncmp(h, "\t\t", 2) || h[2] == '\t') {
		why_set(why, len, "unexpected layout before the id of LV %s", lvuuid);
		return -1;
	}
	n = (size_t)(id - h);
	if (n < 6 || strncmp(id - 3, " {\n", 3) || n - 5 >= sizeof(s->name)) {
		why_set(why, len, "unexpected LV header before the id of LV %s", lvuuid);
		return -1;
	}
	memcpy(s->name, h + 2, n - 5);
	s->name[n - 5] = 0;
	s->head = h;
	s->body = id;
	/* the section ends at the first line that is exactly "\t\t}" */
	for (p = id; *p; p = line_end(p)) {
		if (!strncmp(p, "\t\t}\n", 4) || !strcmp(p, "\t\t}")) {
			s->close = p;
			s->end = line_end(p);
			return 0;
		}
		if (strncmp(p, "\t\t\t", 3) && *p != '\n') {
			why_set(why, len, "LV %s: unexpected layout inside its section", s->name);
			return -1;
		}
	}
	why_set(why, len, "LV %s: section not closed", s->name);
	return -1;
}

bool lvmtext_has_lv(const char *text, const char *name)
{
	char want[LVMTEXT_NAME_MAX + 8];
	const char *lvs = strstr(text, "logical_volumes {\n");

	snprintf(want, sizeof(want), "\n\t\t%s {\n", name);
	return lvs && strstr(lvs, want);
}

/* Is name referenced anywhere but in its own header ("origin = ", "lv = ")? */
static bool referenced(const char *text, const struct lv_span *s)
{
	char q[LVMTEXT_NAME_MAX + 4];
	const char *p = text;

	snprintf(q, sizeof(q), "\"%s\"", s->name);
	while ((p = strstr(p, q))) {
		const char *l = line_start(text, p);

		while (*l == '\t')
			l++;
		/* values that are not references to an LV: hosts, tags, text */
		if ((p < s->head || p >= s->end) && strncmp(l, "creation_host", 13) &&
		    strncmp(l, "tags", 4) && strncmp(l, "description", 11) &&
		    strncmp(l, "system_id", 9) && strncmp(l, "contents", 8))
			return true;
		p++;
	}
	return false;
}

/* A buffer that grows; NULL data after a failed allocation. */
struct sbuf {
	char *d;
	size_t n, cap;
};

static void put(struct sbuf *b, const char *p, size_t n)
{
	if (!b->d && b->cap)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *d = realloc(b->d, cap);

		if (!d) {
			free(b->d);
			b->d = NULL;
			b->cap = 1;
			return;
		}
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->n, p, n);
	b->n += n;
	b->d[b->n] = 0;
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/*
 * The tags line of an LV section with tag_from replaced by tag_to (added
 * when absent; tag_from NULL: only add).  lvm2 writes `tags = ["a", "b"]`
 * on one line.
 */
static int edit_tags(struct sbuf *b, const char *line, size_t n, const char *tag_from,
		     const char *tag_to)
{
	char from[LVMTEXT_NAME_MAX + 4], to[LVMTEXT_NAME_MAX + 4];
	const char *open = memchr(line, '[', n), *close = open ? memchr(open, ']', n - (size_t)(open - line)) : NULL;
	const char *f;

	if (!open || !close)
		return -1;
	snprintf(from, sizeof(from), "\"%s\"", tag_from ? tag_from : "");
	snprintf(to, sizeof(to), "\"%s\"", tag_to);
	put(b, line, (size_t)(open + 1 - line));
	f = tag_from ? strstr(open, from) : NULL;
	if (f && f < close) {
		put(b, open + 1, (size_t)(f - open - 1));
		puts_(b, to);
		put(b, f + strlen(from), (size_t)(line + n - f - strlen(from)));
		return 0;
	}
	if (strstr(open, to) && strstr(open, to) < close) {
		put(b, open + 1, (size_t)(line + n - open - 1));
		return 0;
	}
	puts_(b, to);
	if (close > open + 1)
		puts_(b, ", ");
	put(b, open + 1, (size_t)(line + n - open - 1));
	return 0;
}

char *lvmtext_retire(const char *text, const struct lvmtext_retire *r, char *why, size_t len)
{
	struct lv_span s;
	struct sbuf b = { 0 };
	bool tagged = false;
	const char *p;

	if (find_lv(text, r->lvuuid, &s, why, len))
		return NULL;
	if (strcmp(s.name, r->oldname)) {
		why_set(why, len, "the LV with id %s is named %s, not %s", r->lvuuid, s.name,
			r->oldname);
		return NULL;
	}
	if (lvmtext_has_lv(text, r->newname)) {
		why_set(why, len, "an LV named %s exists already", r->newname);
		return NULL;
	}
	if (referenced(text, &s)) {
		why_set(why, len, "LV %s is used by another LV of its VG (a snapshot, a pool, a "
			"pvmove?)", s.name);
		return NULL;
	}
	put(&b, text, (size_t)(s.head - text));
	puts_(&b, "\t\t");
	puts_(&b, r->newname);
	puts_(&b, " {\n\t\t\tid = \"");
	puts_(&b, r->newid);
	puts_(&b, "\"\n");
	for (p = line_end(s.body); p < s.close; p = line_end(p)) {
		size_t n = (size_t)(line_end(p) - p);

		if (!strncmp(p, "\t\t\ttags = [", 11)) {
			if (edit_tags(&b, p, n, r->tag_from, r->tag_to)) {
				why_set(why, len, "LV %s: cannot read its tags line", s.name);
				free(b.d);
				return NULL;
			}
			tagged = true;
			continue;
		}
		if (!tagged && !strncmp(p, "\t\t\tcreation_time", 16)) {
			/* no tags line: lvm2 writes it before creation_time */
			puts_(&b, "\t\t\ttags = [\"");
			puts_(&b, r->tag_to);
			puts_(&b, "\"]\n");
			tagged = true;
		}
		put(&b, p, n);
	}
	if (!tagged) {
		puts_(&b, "\t\t\ttags = [\"");
		puts_(&b, r->tag_to);
		puts_(&b, "\"]\n");
	}
	puts_(&b, s.close);
	if (!b.d)
		why_set(why, len, "out of memory");
	return b.d;
}

int lvmtext_uuid_dashed(const char *raw32, char *out, size_t len)
{
	static const int groups[] = { 6, 4, 4, 4, 4, 4, 6 };
	size_t o = 0;

	if (strlen(raw32) < 32 || len < 39)
		return -1;
	for (int g = 0, i = 0; g < 7; g++) {
		if (g)
			out[o++] = '-';
		for (int k = 0; k < groups[g]; k++)
			out[o++] = raw32[i++];
	}
	out[o] = 0;
	return 0;
}

/* The part of an LV section from its segment_count line to its close. */
static int seg_span(const struct lv_span *s, const char **a, const char **b, char *why,
		    size_t len)
{
	for (const char *p = s->body; p < s->close; p = line_end(p))
		if (!strncmp(p, "\t\t\tsegment_count = ", 19)) {
			*a = p;
			*b = s->close;
			return 0;
		}
	why_set(why, len, "LV %s: no segment_count line", s->name);
	return -1;
}

/* Emit the lines [from, to) of an LV section, its tags line edited. */
static int put_retagged(struct sbuf *b, const char *from, const char *to, const char *tag_from,
			const char *tag_to)
{
	bool tagged = false;

	for (const char *p = from; p < to; p = line_end(p)) {
		size_t n = (size_t)(line_end(p) - p);

		if (tag_to && !strncmp(p, "\t\t\ttags = [", 11)) {
			if (edit_tags(b, p, n, tag_from, tag_to))
				return -1;
			tagged = true;
			continue;
		}
		if (tag_to && !tagged && !strncmp(p, "\t\t\tcreation_time", 16)) {
			puts_(b, "\t\t\ttags = [\"");
			puts_(b, tag_to);
			puts_(b, "\"]\n");
			tagged = true;
		}
		put(b, p, n);
	}
	return tagged || !tag_to ? 0 : -1;
}

char *lvmtext_swap(const char *text, const struct lvmtext_swap *w, char *why, size_t len)
{
	struct lv_span x, y, *first, *second;
	const char *xa, *xb, *ya, *yb, *fa, *fb, *sa, *sb2;
	const char *ftf, *ftt, *stf, *stt;
	struct sbuf b = { 0 };

	if (find_lv(text, w->uuid_a, &x, why, len) || find_lv(text, w->uuid_b, &y, why, len))
		return NULL;
	if (referenced(text, &x) || referenced(text, &y)) {
		why_set(why, len, "LV %s or %s is used by another LV of its VG", x.name, y.name);
		return NULL;
	}
	if (seg_span(&x, &xa, &xb, why, len) || seg_span(&y, &ya, &yb, why, len))
		return NULL;
	/* write them in file order, each with the other's segments */
	first = x.head < y.head ? &x : &y;
	second = first == &x ? &y : &x;
	fa = first == &x ? xa : ya;
	fb = first == &x ? xb : yb;
	sa = first == &x ? ya : xa;
	sb2 = first == &x ? yb : xb;
	ftf = first == &x ? w->tag_a_from : NULL;
	ftt = first == &x ? w->tag_a_to : w->tag_b_to;
	stf = first == &x ? NULL : w->tag_a_from;
	stt = first == &x ? w->tag_b_to : w->tag_a_to;
	put(&b, text, (size_t)(first->head - text));
	if (put_retagged(&b, first->head, fa, ftf, ftt))
		goto bad;
	put(&b, sa, (size_t)(sb2 - sa));
	put(&b, first->close, (size_t)(second->head - first->close));
	if (put_retagged(&b, second->head, sa, stf, stt))
		goto bad;
	put(&b, fa, (size_t)(fb - fa));
	puts_(&b, second->close);
	if (!b.d)
		why_set(why, len, "out of memory");
	return b.d;
bad:
	why_set(why, len, "cannot edit the tags of LV %s or %s", x.name, y.name);
	free(b.d);
	return NULL;
}
