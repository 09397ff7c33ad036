// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "table.h"
#include "tap.h"

int main(void)
{
	struct lm_table t, u;
	char buf[1024], why[256];

	ok(!lm_table_parse("254:1 254:2 254:3 1024", &t, why, sizeof(why)), "minimal table");
	is_str(t.meta, "254:1", "meta");
	is_str(t.source, "254:2", "source");
	is_str(t.dest, "254:3", "dest");
	is_int(t.region_sectors, 1024, "region");
	ok(!lm_table_parse("254:1 254:2 254:3 1024 9 throttle 5 copy_depth 8 start_paused "
			   "label vm1 dest_error retry", &t, why, sizeof(why)), "all features: %s", why);
	ok(t.have_throttle && t.throttle == 5 && t.copy_depth == 8 && t.start_paused,
	   "feature values");
	is_str(t.label, "vm1", "label");
	is_str(t.dest_error, "retry", "dest_error");
	ok(!lm_table_format(&t, buf, sizeof(buf)), "format");
	ok(!lm_table_parse(buf, &u, why, sizeof(why)) && !memcmp(&t, &u, sizeof(t)),
	   "format/parse round trip: %s", buf);
	ok(!lm_table_parse("254:1 254:2 254:3 1024 6 reuse_metadata source_id disk-a dest_id "
			   "disk-b trust_log", &t, why, sizeof(why)), "1.2.0 features: %s", why);
	ok(t.reuse_metadata && t.trust_log, "reuse_metadata, trust_log");
	is_str(t.source_id, "disk-a", "source_id");
	is_str(t.dest_id, "disk-b", "dest_id");
	ok(!lm_table_format(&t, buf, sizeof(buf)) && !lm_table_parse(buf, &u, why, sizeof(why)) &&
	   !memcmp(&t, &u, sizeof(t)), "1.2.0 features round trip: %s", buf);
	ok(strstr(buf, " 6 source_id disk-a dest_id disk-b reuse_metadata trust_log") != NULL,
	   "feature words and count: %s", buf);
	ok(lm_table_parse("254:1 254:2 254:3", &t, why, sizeof(why)), "too few words");
	ok(lm_table_parse("254:1 254:2 254:3 1000", &t, why, sizeof(why)), "region not pow2");
	ok(lm_table_parse("254:1 254:2 254:3 4", &t, why, sizeof(why)), "region too small");
	ok(lm_table_parse("254:1 254:2 254:3 1024 2 throttle", &t, why, sizeof(why)),
	   "feature count mismatch");
	ok(lm_table_parse("254:1 254:2 254:3 1024 1 throttle", &t, why, sizeof(why)),
	   "feature missing value");
	ok(lm_table_parse("254:1 254:2 254:3 1024 2 copy_depth 0", &t, why, sizeof(why)),
	   "copy_depth 0");
	ok(lm_table_parse("254:1 254:2 254:3 1024 1 bogus", &t, why, sizeof(why)),
	   "unknown feature");
	memset(&t, 0, sizeof(t));
	strcpy(t.meta, "1:2");
	strcpy(t.source, "3:4");
	strcpy(t.dest, "5:6");
	t.region_sectors = 8;
	ok(!lm_table_format(&t, buf, sizeof(buf)), "format minimal");
	is_str(buf, "1:2 3:4 5:6 8", "no feature count when none");
	ok(lm_table_format(&t, buf, 5), "too small buffer refused");
	return tap_done();
}
