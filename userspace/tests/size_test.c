// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include "args.h"
#include "meta.h"
#include "util.h"
#include "tap.h"

static const struct {
	const char *in;
	int rc;
	uint64_t bytes;
} sizes[] = {
	{ "0", 0, 0 }, { "512", 0, 512 }, { "1s", 0, 512 }, { "8s", 0, 4096 },
	{ "4K", 0, 4096 }, { "4k", 0, 4096 }, { "4KiB", 0, 4096 }, { "1M", 0, 1 << 20 },
	{ "2MiB", 0, 2 << 20 }, { "1G", 0, 1ULL << 30 }, { "3T", 0, 3ULL << 40 },
	{ "1P", 0, 1ULL << 50 }, { "100b", 0, 100 }, { "", -1, 0 }, { "K", -1, 0 },
	{ "-1", -1, 0 }, { "1.5G", -1, 0 }, { "1X", -1, 0 }, { "1 M", -1, 0 },
	{ "16384P", -1, 0 }, { "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -1, 0 }, { "99999999999999999999999", -1, 0 },
	{ "0x10", -1, 0 }, { "1MM", -1, 0 },
};

int main(void)
{
	uint64_t v, s;
	double d;
	char buf[64], why[256];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int rc = parse_size(sizes[i].in, &v);

		is_int(rc, sizes[i].rc, "parse_size('%s') rc", sizes[i].in);
		if (!rc && !sizes[i].rc)
			is_int(v == sizes[i].bytes, 1, "parse_size('%s') value", sizes[i].in);
	}
	ok(!parse_u64("42", 100, &v) && v == 42, "parse_u64 42");
	ok(parse_u64("101", 100, &v), "parse_u64 over max");
	ok(parse_u64("+1", 100, &v), "parse_u64 sign refused");
	ok(parse_u64("", 100, &v), "parse_u64 empty refused");
	ok(!parse_seconds("1.5", &d) && d == 1.5, "parse_seconds 1.5");
	ok(!parse_seconds("0", &d) && d == 0, "parse_seconds 0");
	ok(parse_seconds("-1", &d), "parse_seconds negative");
	ok(parse_seconds("1s", &d), "parse_seconds junk");
	ok(parse_seconds("nan", &d), "parse_seconds nan");
	ok(!lm_region_from_bytes(512 * 1024, &s, why, sizeof(why)) && s == 1024, "region 512K");
	ok(!lm_region_from_bytes(4096, &s, why, sizeof(why)) && s == 8, "region 4K minimum");
	ok(lm_region_from_bytes(2048, &s, why, sizeof(why)), "region 2K too small");
	ok(strstr(why, "too small") != NULL, "region too small message: %s", why);
	ok(lm_region_from_bytes(3 * 4096, &s, why, sizeof(why)), "region 12K not power of two");
	ok(lm_region_from_bytes(4097, &s, why, sizeof(why)), "region 4097 not sector multiple");
	fmt_size(1536, buf, sizeof(buf));
	is_str(buf, "1.5 KiB", "fmt_size 1536");
	fmt_size(100, buf, sizeof(buf));
	is_str(buf, "100 B", "fmt_size 100");
	fmt_duration(3723, buf, sizeof(buf));
	is_str(buf, "1h02m03s", "fmt_duration 3723");
	fmt_duration(59.4, buf, sizeof(buf));
	is_str(buf, "59s", "fmt_duration 59.4");
	fmt_duration(-1, buf, sizeof(buf));
	is_str(buf, "unknown", "fmt_duration unknown");

	/* measure arithmetic */
	is_int(nr_regions_for(2097152, 1024), 2048, "1 GiB / 512 KiB = 2048 regions");
	is_int(nr_regions_for(2097153, 1024), 2049, "partial last region counts");
	is_int(nr_regions_for(1, 8), 1, "one sector -> one region");
	is_int(lm_bitmap_blocks(LM_BITS_PER_BLOCK), 1, "exactly one bitmap block");
	is_int(lm_bitmap_blocks(LM_BITS_PER_BLOCK + 1), 2, "one more region -> two blocks");
	is_int(LM_BITS_PER_BLOCK, 32512, "bits per block");
	is_int(meta_bytes_needed(2048), 9 * 4096, "1 GiB at 512 KiB needs 9 blocks");
	is_int(meta_bytes_needed(nr_regions_for(1ULL << 31, 1024)), (8 + 65) * 4096,
	       "1 TiB at 512 KiB needs 73 blocks");
	is_int(meta_bytes_needed(1ULL << 21), (8 + 65) * 4096, "2^21 regions");
	/* failure injection hook */
	setenv("LIVEMIRROR_FAIL_AT", "prepare-2", 1);
	ok(fail_point("prepare-%d", 2), "fail_point matches its step");
	ok(!fail_point("prepare-%d", 1), "fail_point ignores other steps");
	unsetenv("LIVEMIRROR_FAIL_AT");
	ok(!fail_point("prepare-%d", 2), "fail_point off without the variable");
	return tap_done();
}
