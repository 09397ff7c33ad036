// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <stdio.h>

#include "status.h"
#include "util.h"
#include "tap.h"

static const struct {
	const char *line;
	int rc;
} lines[] = {
	{ "10/100 90 copying AAA 4 0 1 0", 0 },
	{ "100/100 0 synced AAA 4 50 1 0", 0 },
	{ "0/100 100 paused AAA 1 0 0 0", 0 },
	{ "50/100 100 degraded ADA 4 0 0 17", 0 },
	{ "50/100 100 failed AAD 4 0 0 0", 0 },
	{ "100/100 0 switched AAA 4 0 0 0", 0 },
	{ "10/100 90 copying AAA 4 0 1", -1 },
	/* A newer module's extra trailing fields are ignored (review M4). */
	{ "10/100 90 copying AAA 4 0 1 0 extra", 0 },
	{ "10/100 90 copying AAA 4 0 1 0 copied_bytes=4096 future=x-y 7", 0 },
	{ "10/100 90 copying AAA 4 0 1 +0", -1 },
	{ "10/100 90 copying AAA 4 0 1 0x1", -1 },
	{ "10/100 90 copying AAA 99999999999 0 1 0", -1 },
	{ "10 90 copying AAA 4 0 1 0 0", -1 },
	{ "10/100 90 running AAA 4 0 1 0", -1 },
	{ "10/100 90 copying AAX 4 0 1 0", -1 },
	{ "10/100 90 copying AAAA 4 0 1 0", -1 },
	{ "101/100 0 copying AAA 4 0 1 0", -1 },
	{ "10/100 90 copying AAA 4 0 2 0", -1 },
	{ "-1/100 90 copying AAA 4 0 1 0", -1 },
	{ "", -1 },
	{ "garbage", -1 },
};

int main(void)
{
	struct lm_status s, p;
	struct lm_report r;
	char why[256], *out = NULL, lbl[64];
	size_t outlen = 0;
	FILE *f;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		is_int(lm_status_parse(lines[i].line, &s, why, sizeof(why)), lines[i].rc,
		       "parse '%s'", lines[i].line);
	ok(!lm_status_parse("25/100 75 copying AAA 8 20 1 3 copied_bytes=123 copy_ms=9 new=1",
			    &s, why, sizeof(why)) && s.have_copied_bytes && s.copied_bytes == 123 &&
	   s.have_copy_ms && s.copy_ms == 9 && s.dest_errors == 3, "optional trailing fields");
	ok(!lm_status_parse("25/100 75 copying AAA 8 20 1 3 copied_bytes=1 opened=unclean "
			    "trusted=0 later=z", &s, why, sizeof(why)) &&
	   !strcmp(s.opened, "unclean") && s.trusted == 0, "opened= and trusted= (1.2.0)");
	{
		char *buf = NULL;
		size_t blen = 0;
		FILE *g = open_memstream(&buf, &blen);
		struct lm_report rr = { .device = "vm", .st = s, .region_bytes = 4096, .rate = -1,
					.eta = -1 };

		lm_print_kv(g, &rr);
		lm_print_json(g, &rr);
		lm_print_human(g, &rr, 80);
		fclose(g);
		ok(strstr(buf, "opened=unclean\ntrusted=0\n") &&
		   strstr(buf, "\"opened\":\"unclean\",\"trusted\":false}") &&
		   strstr(buf, "never detached"), "opened/trusted printed: %s", buf);
		free(buf);
	}
	ok(!lm_status_parse("25/100 75 copying AAA 8 20 1 3 trusted=1 opened=clean", &s, why,
			    sizeof(why)) && !strcmp(s.opened, "clean") && s.trusted == 1,
	   "opened=clean trusted=1");
	ok(!lm_status_parse("25/100 75 copying AAA 8 20 1 3", &s, why, sizeof(why)) &&
	   !s.have_copied_bytes && !s.have_copy_ms, "parse");
	ok(!s.opened[0] && s.trusted == -1, "absent on an older module");
	ok(s.in_sync == 25 && s.nr_regions == 100 && s.dirty == 75 && s.copy_depth == 8 &&
	   s.throttle == 20 && s.mirroring && s.dest_errors == 3, "fields");
	is_str(s.state, "copying", "state");
	is_str(s.health, "AAA", "health");
	ok(lm_status_percent(&s) == 25.0, "percent 25");
	ok(!lm_status_synced(&s), "copying is not synced");
	lm_status_parse("100/100 0 synced AAA 4 0 1 0", &p, why, sizeof(why));
	ok(lm_status_synced(&p), "synced AAA is synced");
	lm_status_parse("100/100 0 synced ADA 4 0 1 0", &p, why, sizeof(why));
	ok(!lm_status_synced(&p) && lm_status_dest_dead(&p), "synced ADA is not healthy");
	lm_status_parse("100/100 0 switched AAA 4 0 0 0", &p, why, sizeof(why));
	ok(lm_status_percent(&p) == 100.0, "switched is 100%%");

	/* rate and ETA */
	memset(&r, 0, sizeof(r));
	r.device = "vm\"1";
	r.region_bytes = 1 << 20;
	lm_status_parse("10/100 90 copying AAA 4 0 1 0", &p, why, sizeof(why));
	lm_status_parse("20/100 80 copying AAA 4 0 1 0", &r.st, why, sizeof(why));
	lm_report_rate(&r, &p, 2.0);
	ok(r.rate == 5.0 * (1 << 20), "rate 5 MiB/s");
	ok(r.eta == 16.0, "eta 16 s");
	lm_report_rate(&r, &p, 0);
	ok(r.rate < 0 && r.eta < 0, "no rate without time");

	f = open_memstream(&out, &outlen);
	lm_report_rate(&r, &p, 2.0);
	lm_print_json(f, &r);
	fclose(f);
	ok(strstr(out, "\"state\":\"copying\"") && strstr(out, "\"percent\":20.00") &&
	   strstr(out, "\"regions\":100") && strstr(out, "\"in_sync\":20") &&
	   strstr(out, "\"dirty\":80") && strstr(out, "\"eta\":16") &&
	   strstr(out, "\"health\":\"AAA\"") && strstr(out, "\"dest_errors\":0") &&
	   strstr(out, "\"throttle\":0") && strstr(out, "\"copy_depth\":4") &&
	   strstr(out, "\"mirroring\":true") && strstr(out, "\"rate\":5242880") &&
	   strstr(out, "\"device\":\"vm\\\"1\""), "json fields: %s", out);
	free(out);
	out = NULL;
	f = open_memstream(&out, &outlen);
	lm_print_kv(f, &r);
	fclose(f);
	ok(strstr(out, "state=copying\n") && strstr(out, "percent=20.00\n") &&
	   strstr(out, "mirroring=1\n") && strstr(out, "eta=16\n"), "key=value lines");
	free(out);
	out = NULL;
	f = open_memstream(&out, &outlen);
	lm_print_human(f, &r, 100);
	fclose(f);
	ok(strstr(out, "[########.") && strstr(out, "20.00%") && strstr(out, "ETA 16s"),
	   "human output has a bar, percent and ETA");
	free(out);

	label_from_uuid("LVM-abc", lbl, sizeof(lbl));
	is_str(lbl, "LVM-abc", "short uuid label kept");
	label_from_uuid("LVM-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			lbl, sizeof(lbl));
	ok(strlen(lbl) == 63 && label_valid(lbl), "long uuid label hashed to 63 chars: %s", lbl);
	label_from_uuid("a b", lbl, sizeof(lbl));
	is_str(lbl, "a_b", "spaces sanitised");
	ok(label_valid("vm1") && !label_valid("") && !label_valid("a b"), "label_valid");
	return tap_done();
}
