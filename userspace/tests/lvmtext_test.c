// SPDX-License-Identifier: GPL-2.0
/*
 * lvmtext_retire (the LVM fence's edit of vgcfgbackup's text): the LV with
 * the given id is renamed, re-identified and re-tagged, and nothing else in
 * the file changes; anything unexpected is refused.
 */
#define _GNU_SOURCE
#include "lvmtext.h"
#include "tap.h"

/* The shape vgcfgbackup of lvm2 2.03.16 writes (trimmed). */
static const char vg[] =
	"vg_old {\n"
	"\tid = \"AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA\"\n"
	"\tseqno = 7\n"
	"\tphysical_volumes {\n"
	"\t\tpv0 {\n"
	"\t\t\tid = \"PPPPPP-PPPP-PPPP-PPPP-PPPP-PPPP-PPPPPP\"\n"
	"\t\t}\n"
	"\t}\n"
	"\tlogical_volumes {\n"
	"\n"
	"\t\tvmdisk {\n"
	"\t\t\tid = \"ypSxMH-1yqs-hIXj-e4Zz-ww4a-goAc-eP9Lhj\"\n"
	"\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n"
	"\t\t\tflags = []\n"
	"\t\t\ttags = [\"livemirror_switching\", \"x2\"]\n"
	"\t\t\tcreation_time = 1764000000\n"
	"\t\t\tsegment_count = 1\n"
	"\n"
	"\t\t\tsegment1 {\n"
	"\t\t\t\tstart_extent = 0\n"
	"\t\t\t\textent_count = 4\n"
	"\t\t\t\ttype = \"striped\"\n"
	"\t\t\t\tstripes = [\n"
	"\t\t\t\t\t\"pv0\", 0\n"
	"\t\t\t\t]\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\n"
	"\t\tother {\n"
	"\t\t\tid = \"s1BOZI-7Sk8-KJdi-MSIv-zfrg-tjUd-31Itsi\"\n"
	"\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n"
	"\t\t\tflags = []\n"
	"\t\t\tcreation_time = 1764000001\n"
	"\t\t\tsegment_count = 1\n"
	"\t\t}\n"
	"\t}\n"
	"}\n";

int main(void)
{
	struct lvmtext_retire r = {
		.lvuuid = "ypSxMH-1yqs-hIXj-e4Zz-ww4a-goAc-eP9Lhj", .oldname = "vmdisk",
		.newname = "vmdisk_livemirror_stale",
		.newid = "CuFiU1-3lTg-QkQp-qdXu-9wp0-Broz-rbUFNZ",
		.tag_from = "livemirror_switching", .tag_to = "livemirror_stale",
	};
	char why[256], dashed[40], *t, *u;
	size_t la, lb;

	t = lvmtext_retire(vg, &r, why, sizeof(why));
	ok(t != NULL, "retire: accepted");
	if (!t)
		return 1;
	ok(strstr(t, "\t\tvmdisk_livemirror_stale {\n\t\t\tid = \"CuFiU1-3lTg-QkQp-qdXu-9wp0-Broz-rbUFNZ\"\n"),
	   "the LV has its new name and id");
	ok(!strstr(t, "ypSxMH-1yqs-hIXj-e4Zz-ww4a-goAc-eP9Lhj"), "the old id is gone");
	ok(!strstr(t, "\t\tvmdisk {"), "the old name is gone");
	ok(strstr(t, "tags = [\"livemirror_stale\", \"x2\"]\n") != NULL, "tag replaced, others kept");
	ok(strstr(t, "\t\t\t\t\t\"pv0\", 0\n") && strstr(t, "\t\tother {\n"),
	   "segments and the other LV kept");
	la = strlen(vg);
	lb = strlen(t);
	is_int((long long)lb - (long long)la, (long long)(strlen("_livemirror_stale") -
	       strlen("livemirror_switching") + strlen("livemirror_stale")),
	       "nothing else changed (length)");
	ok(lvmtext_has_lv(t, "vmdisk_livemirror_stale") && !lvmtext_has_lv(t, "vmdisk"),
	   "has_lv sees the rename");

	/* an LV without tags gets the tag before creation_time */
	r.lvuuid = "s1BOZI-7Sk8-KJdi-MSIv-zfrg-tjUd-31Itsi";
	r.oldname = "other";
	r.newname = "other_livemirror_stale";
	u = lvmtext_retire(t, &r, why, sizeof(why));
	ok(u && strstr(u, "\t\t\tflags = []\n\t\t\ttags = [\"livemirror_stale\"]\n\t\t\tcreation_time = 1764000001\n"),
	   "a tag line is added where lvm2 writes it");
	free(u);

	/* refusals */
	r.newname = "vmdisk_livemirror_stale";
	ok(!lvmtext_retire(t, &r, why, sizeof(why)), "refused: the new name exists (%s)", why);
	r.newname = "x";
	r.oldname = "vmdisk";
	ok(!lvmtext_retire(t, &r, why, sizeof(why)), "refused: wrong name for the id (%s)", why);
	r.lvuuid = "nonono-nono-nono-nono-nono-nono-nonono";
	ok(!lvmtext_retire(vg, &r, why, sizeof(why)), "refused: no such id (%s)", why);
	free(t);
	{
		char snap[sizeof(vg) + 64];
		const char *at = strstr(vg, "\t\t\tsegment_count = 1\n\t\t}\n\t}\n}");

		snprintf(snap, sizeof(snap), "%.*s\t\t\torigin = \"vmdisk\"\n%s", (int)(at - vg), vg, at);
		r.lvuuid = "ypSxMH-1yqs-hIXj-e4Zz-ww4a-goAc-eP9Lhj";
		r.newname = "vmdisk_livemirror_stale";
		ok(!lvmtext_retire(snap, &r, why, sizeof(why)),
		   "refused: another LV refers to it (%s)", why);
	}
	ok(!lvmtext_retire("garbage", &r, why, sizeof(why)), "refused: not LVM text (%s)", why);

	/* the swap of a move within one VG */
	{
		struct lvmtext_swap w = {
			.uuid_a = "ypSxMH-1yqs-hIXj-e4Zz-ww4a-goAc-eP9Lhj",
			.uuid_b = "s1BOZI-7Sk8-KJdi-MSIv-zfrg-tjUd-31Itsi",
			.tag_a_from = "livemirror_switching", .tag_a_to = "livemirror_moved",
			.tag_b_to = "livemirror_stale",
		};
		char *v = lvmtext_swap(vg, &w, why, sizeof(why));
		const char *a = v ? strstr(v, "\t\tvmdisk {") : NULL;
		const char *b = v ? strstr(v, "\t\tother {") : NULL;

		ok(v && a && b, "swap: accepted, both LVs keep their names (%s)", v ? "" : why);
		/* vmdisk comes first in the file: its section is [a, b) */
		{
			const char *seg = v ? strstr(v, "\t\t\t\t\t\"pv0\", 0\n") : NULL;

			ok(a && b && a < b && seg && seg > b,
			   "the old segment (pv0, 0) moved to the second LV");
			ok(a && b && !memmem(a, (size_t)(b - a), "segment1 {", 10),
			   "the first LV has the second's segments (none here)");
		}
		ok(v && strstr(v, "\t\t\tid = \"ypSxMH-1yqs-hIXj-e4Zz-ww4a-goAc-eP9Lhj\"\n") &&
		   strstr(v, "tags = [\"livemirror_moved\", \"x2\"]") &&
		   strstr(v, "tags = [\"livemirror_stale\"]"), "ids kept, tags moved and stale");
		is_int(v ? (long long)strlen(v) : 0, (long long)strlen(vg) - 4 +
		       (long long)strlen("\t\t\ttags = [\"livemirror_stale\"]\n"),
		       "nothing else changed (length)");
		free(v);
		w.uuid_b = "nonono-nono-nono-nono-nono-nono-nonono";
		ok(!lvmtext_swap(vg, &w, why, sizeof(why)), "swap refused: no such LV (%s)", why);
	}
	ok(!lvmtext_uuid_dashed("ypSxMH1yqshIXje4Zzww4agoAceP9Lhj", dashed, sizeof(dashed)) &&
	   !strcmp(dashed, "ypSxMH-1yqs-hIXj-e4Zz-ww4a-goAc-eP9Lhj"), "dm uuid part -> LVM form");
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}
