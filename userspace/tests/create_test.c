// SPDX-License-Identifier: GPL-2.0
/*
 * create gives the new device a stable dm uuid (issue 16): without one the
 * kernel's identity of the device is the weak "dm-name:NAME" and trust_log
 * can never be used on its metadata.  The fake's constructor binds the
 * metadata to the device's identity as the kernel does, so these tests see
 * the ids the kernel would record.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "meta.h"
#include "fakedm.h"
#include "tap.h"
#include "harness.h"

static int create(const char *name, const char *uuid)
{
	if (uuid)
		return LM(NULL, "create", name, "--source", src[0], "--dest", dst[0], "--meta",
			  meta[0], "--force", "--label", "L", "--uuid", uuid);
	return LM(NULL, "create", name, "--source", src[0], "--dest", dst[0], "--meta", meta[0],
		  "--force", "--label", "L");
}

static const char *uuid_of(const char *name)
{
	struct fk_dev *v = fk_dev_by_name(name);

	return v ? v->uuid : "(no device)";
}

static const char *bound_device_id(void)
{
	static struct lm_sbinfo sb;
	struct lm_meta m;
	char e[256];

	if (meta_open(&m, meta[0], META_RO, e, sizeof(e)))
		return "(unreadable)";
	meta_load(&m);
	if (m.best < 0) {
		meta_close(&m);
		return "(no valid slot)";
	}
	sb = m.sb[m.best];
	meta_close(&m);
	return sb.device_id;
}

/* What a reboot does to the device: gone, its metadata left as it was. */
static void drop_device(const char *name)
{
	struct fk_dev *v = fk_dev_by_name(name);

	if (v)
		v->used = false;
}

static bool random_form(const char *u)
{
	if (strncmp(u, "LIVEMIRROR-", 11) || strlen(u) != 11 + 32)
		return false;
	for (u += 11; *u; u++)
		if (!isxdigit((unsigned char)*u) || isupper((unsigned char)*u))
			return false;
	return true;
}

static void test_fresh(void)
{
	char want[160], first[140];

	setup(1, false);
	is_int(create("new0", NULL), 0, "create on fresh metadata");
	ok(random_form(uuid_of("new0")), "the device has a uuid LIVEMIRROR-<32 hex>: '%s'",
	   uuid_of("new0"));
	snprintf(want, sizeof(want), "dm:%s", uuid_of("new0"));
	is_str(bound_device_id(), want, "the metadata is bound to the device's dm uuid (strong)");
	is_int(lm_id_kind(bound_device_id(), LM_ID_LEN), LM_ID_STRONG, "that identity is strong");

	/* the same migration created again (after a reboot): the same uuid */
	snprintf(first, sizeof(first), "%s", uuid_of("new0"));
	drop_device("new0");
	is_int(create("new0", NULL), 0, "create again over the same metadata");
	is_str(uuid_of("new0"), first, "the same uuid as the first time");
	drop_device("new0");
	is_int(create("renamed", NULL), 0, "create under another name over the same metadata");
	is_str(uuid_of("renamed"), first, "the uuid follows the migration, not the name");
}

/*
 * recover --name, after a crash, creates the device again on the leg its
 * metadata names: with the uuid the metadata is bound to, so that the
 * migration can be started again over it (the device ids must match).
 */
static void test_recover_name(void)
{
	char first[140];

	setup(1, false);
	is_int(create("new0", NULL), 0, "create");
	snprintf(first, sizeof(first), "%s", uuid_of("new0"));
	drop_device("new0");
	is_int(LM(NULL, "recover", "--meta", meta[0], "--source", src[0], "--dest", dst[0],
		  "--name", "new0"), 0, "recover --name creates it again");
	is_str(uuid_of("new0"), first, "with the uuid its metadata is bound to");

	/* metadata of an LV (start made it): recover never takes the LV's uuid */
	setup(1, false);
	make_bound_meta(0, "dm:LVM-vguuidlvuuid", "", "");
	is_int(LM(NULL, "recover", "--meta", meta[0], "--source", src[0], "--dest", dst[0],
		  "--name", "new0"), 0, "recover --name over an LV's metadata");
	is_str(uuid_of("new0"), "", "created without a uuid");
}

/* The point of the uuid: created again over its metadata, the log can be trusted. */
static void test_trust(void)
{
	setup(1, false);
	make_bound_meta(0, "dm:LIVEMIRROR-0123456789abcdef0123456789abcdef",
			"naa:5000c500a1b2c3d4", "naa:5000c500a1b2c3d5");
	is_int(LM(NULL, "create", "new0", "--source", src[0], "--dest", dst[0], "--meta",
		  meta[0], "--force", "--label", "L", "--trust-log"), 0,
	       "create --trust-log over metadata bound to its uuid and strong leg ids");
	is_str(uuid_of("new0"), "LIVEMIRROR-0123456789abcdef0123456789abcdef",
	       "the device gets the uuid the metadata is bound to");
	ok(strstr(fk_dev_by_name("new0") ? fk_dev_by_name("new0")->live.t[0].params : "",
		  " trust_log"), "the table has trust_log");

	setup(1, false);
	make_bound_meta(0, "dm-name:new0", "naa:5000c500a1b2c3d4", "naa:5000c500a1b2c3d5");
	is_int(LM(NULL, "create", "new0", "--source", src[0], "--dest", dst[0], "--meta",
		  meta[0], "--force", "--label", "L", "--trust-log"), LM_EXIT_METADATA,
	       "--trust-log over metadata bound to the weak dm-name: exit 6");
	ok(strstr(err, "device_id") && strstr(err, "weak"), "says which id is weak: %s", err);
}

static void test_formatted_unbound(void)
{
	setup(1, false);
	make_bound_meta(0, "", "", "");	/* uuid 5a5a...5a, no ids yet */
	is_int(create("new0", NULL), 0, "create on formatted, unbound metadata");
	is_str(uuid_of("new0"), "LIVEMIRROR-5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
	       "the uuid is derived from the metadata's own uuid");
}

static void test_override(void)
{
	setup(1, false);
	is_int(create("new0", "vm0-disk0"), 0, "create --uuid");
	is_str(uuid_of("new0"), "vm0-disk0", "the device has the given uuid");
	is_str(bound_device_id(), "dm:vm0-disk0", "the metadata is bound to it");
	drop_device("new0");
	is_int(create("new0", NULL), 0, "created again without --uuid");
	is_str(uuid_of("new0"), "vm0-disk0", "the uuid the metadata is bound to is kept");

	/* another uuid than the metadata's: refused before anything is created */
	drop_device("new0");
	is_int(create("new0", "other-uuid"), LM_EXIT_METADATA,
	       "--uuid that is not the metadata's: exit 6");
	ok(strstr(err, "device_id") && strstr(err, "dm:vm0-disk0") && strstr(err, "dm:other-uuid"),
	   "names the field and both values: %s", err);
	ok(!fk_dev_by_name("new0"), "nothing created");

	/* an LV's uuid is never taken over: LVM would take the device for its LV */
	setup(1, false);
	make_bound_meta(0, "dm:LVM-vguuidlvuuid", "", "");
	is_int(create("new0", NULL), LM_EXIT_METADATA, "metadata bound to an LV: exit 6");
	ok(!fk_dev_by_name("new0"), "nothing created");

	is_int(create("new0", "has space"), LM_EXIT_USAGE, "--uuid with a space: usage");
	is_int(LM(NULL, "start", vm[0], "--meta", meta[0], "--dest", dst[0], "--uuid", "x"),
	       LM_EXIT_USAGE, "--uuid is create's only");
}

/* Metadata an older helper bound to the weak name: kept working as it was. */
static void test_weak_binding(void)
{
	setup(1, false);
	make_bound_meta(0, "dm-name:new0", "", "");
	is_int(create("new0", NULL), 0, "create on metadata bound to dm-name:new0");
	is_str(uuid_of("new0"), "", "no uuid: the metadata's binding is kept");
	ok(strstr(err, "dm-name:new0") && strstr(err, "trust"), "says why and what it costs: %s",
	   err);
}

int main(void)
{
	hs_begin("create");

	test_fresh();
	test_formatted_unbound();
	test_recover_name();
	test_trust();
	test_override();
	test_weak_binding();

	hs_end();
	return tap_done();
}
