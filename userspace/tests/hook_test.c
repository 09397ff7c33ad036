// SPDX-License-Identifier: GPL-2.0
/*
 * switch --post-commit-hook CMD (issue 16 item 3): CMD runs once the switch
 * is committed and resumed, with a versioned JSON description on stdin; a
 * failing hook exits 16 and never undoes the switch; a refused or
 * unfinished switch runs no hook; a re-run of a finished switch runs it
 * again (so a failed hook can be retried).
 */
#define _GNU_SOURCE
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

static char json[8192], hookfile[128], hook[512];

static void read_hook_output(void)
{
	FILE *f = fopen(hookfile, "r");
	size_t n = f ? fread(json, 1, sizeof(json) - 1, f) : 0;

	json[n] = 0;
	if (f)
		fclose(f);
}

/* A hook that saves its stdin and environment. */
static const char *saving_hook(const char *then)
{
	snprintf(hookfile, sizeof(hookfile), "%s/hook.json", dir);
	unlink(hookfile);
	snprintf(hook, sizeof(hook), "cat > %s; echo \"$LIVEMIRROR_HOOK $LIVEMIRROR_DEVICE\" > "
		 "%s.env; grep SigBlk /proc/self/status > %s.sig; %s", hookfile, hookfile,
		 hookfile, then);
	return hook;
}

static bool valid_json(const char *path)
{
	char cmd[300];

	if (system("command -v python3 >/dev/null 2>&1"))
		return true;	/* nothing to check it with */
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' %s",
		 path);
	return system(cmd) == 0;
}

static bool file_has(const char *suffix, const char *what)
{
	char p[160], buf[256] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", hookfile, suffix);
	f = fopen(p, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, what) != NULL;
}

static void test_single(void)
{
	char want[200];
	int r;

	setup_synced(1, false);
	r = LM(NULL, "switch", vm[0], "--post-commit-hook", saving_hook("true"));
	is_int(r, 0, "switch with a hook that succeeds: exit 0");
	read_hook_output();
	ok(json[0], "the hook ran and read its input");
	ok(valid_json(hookfile), "its input is one JSON object: %s", json);
	ok(strstr(json, "\"schema\":1") && strstr(json, "\"event\":\"switched\"") &&
	   strstr(json, "\"already_switched\":false") && strstr(json, "\"group\":null") &&
	   strstr(json, "\"time\":\"20"), "schema, event, time, no group: %s", json);
	ok(strstr(json, "\"name\":\"vm0\"") && strstr(json, "\"uuid\":\"UUID-vm0\"") &&
	   strstr(json, "\"path\":\"/dev/mapper/vm0\""), "the device, its uuid and path");
	snprintf(want, sizeof(want), "\"dest\":{\"path\":\"%s\"", dst[0]);
	ok(strstr(json, want) != NULL, "the destination's path: %s", want);
	ok(strstr(json, "\"source\":{\"path\":\"/dev/mapper/vm0-lmsrc\"") &&
	   strstr(json, "\"hidden_source\":true"), "the source as it was: the hidden source");
	snprintf(want, sizeof(want), "\"metadata\":{\"path\":\"%s\"", meta[0]);
	ok(strstr(json, want) && strstr(json, "\"metadata_uuid\":\""), "the metadata: %s", want);
	ok(file_has(".env", "post-commit vm0"), "LIVEMIRROR_HOOK and LIVEMIRROR_DEVICE are set");
	ok(file_has(".sig", "0000000000000000"), "the hook runs with no signal blocked");
	check_invariant("switch with a hook", 1);

	/* run again: already switched, the hook runs again */
	r = LM(NULL, "switch", vm[0], "--post-commit-hook", saving_hook("true"));
	is_int(r, 0, "the same switch again: exit 0");
	read_hook_output();
	ok(strstr(json, "\"already_switched\":true") && strstr(json, "\"name\":\"vm0\"") &&
	   strstr(json, dst[0]), "the hook ran again, told it was already switched: %s", json);
}

static void test_failing(void)
{
	int r;

	setup_synced(1, false);
	r = LM(NULL, "switch", vm[0], "--post-commit-hook", "cat >/dev/null; exit 3");
	is_int(r, LM_EXIT_HOOK_FAILED, "a failing hook: exit 16");
	ok(strstr(err, "exit 3") && strstr(err, "not undo"), "says the hook failed and the "
	   "switch stays: %s", err);
	is_int(fk_meta_state(meta[0]), LM_STATE_SWITCHED, "the metadata says SWITCHED");
	ok(leg_of(0) == 'd', "the device is on its destination");
	check_invariant("switch whose hook failed", 1);

	setup_synced(1, false);
	r = LM(NULL, "switch", vm[0], "--json", "--post-commit-hook", "exit 1");
	is_int(r, LM_EXIT_HOOK_FAILED, "--json, a hook that does not read its input: exit 16");
	ok(strstr(out, "\"outcome\":\"switched\"") && strstr(out, "\"authoritative\":\"dest\"") &&
	   strstr(out, "\"code\":16") && strstr(out, "\"name\":\"hook_failed\""),
	   "--json: switched, destination authoritative, error hook_failed: %s", out);
	check_invariant("switch --json whose hook failed", 1);
}

static void test_not_run(void)
{
	int r;

	setup(1, false);
	is_int(start_one(0, NULL), 0, "start (not synced)");
	r = LM(NULL, "switch", vm[0], "--post-commit-hook", saving_hook("true"));
	is_int(r, LM_EXIT_NOT_SYNCED, "a refused switch: exit 3");
	ok(access(hookfile, F_OK) != 0, "its hook did not run");

	setup_synced(1, false);
	r = LM("LIVEMIRROR_FAIL_AT=load-0", "switch", vm[0], "--post-commit-hook",
	       saving_hook("true"));
	is_int(r, LM_EXIT_INCOMPLETE, "committed but unfinished: exit 9");
	ok(access(hookfile, F_OK) != 0, "its hook did not run");
	ok(strstr(err, "hook not run"), "says the hook was not run: %s", err);
	r = LM(NULL, "switch", vm[0], "--post-commit-hook", saving_hook("true"));
	is_int(r, 0, "the same switch again finishes it");
	ok(access(hookfile, F_OK) == 0, "and runs the hook");
	check_invariant("unfinished switch finished with its hook", 1);
}

static void test_group(void)
{
	int r;

	setup_synced(2, true);
	r = LM(NULL, "switch", vm[0], vm[1], "--post-commit-hook", saving_hook("true"));
	is_int(r, 0, "group switch with a hook");
	read_hook_output();
	ok(valid_json(hookfile), "one JSON object");
	ok(strstr(json, "\"group\":{\"coordinator\":\"vg--old-vm0\",\"members\":[\"vg--old-vm0\","
		  "\"vg--old-vm1\"]}"), "the group: coordinator and members: %s", json);
	ok(strstr(json, "\"path\":\"/dev/vg-old/vm0\"") && strstr(json, "\"path\":\"/dev/vg-old/vm1\""),
	   "LVs are named by their /dev/VG/LV path");
	ok(file_has(".env", "post-commit vg--old-vm0"), "LIVEMIRROR_DEVICE is the coordinator");
	check_invariant("group switch with a hook", 2);
}

/* The example hooks (tools/hooks) read what the helper really writes. */
static void test_example_hooks(void)
{
	char conf[160], xml[160], cmd[700], want[200], buf[600] = "";
	FILE *f;
	int r;

	if (system("command -v python3 >/dev/null 2>&1")) {
		ok(1, "# SKIP python3 missing: example hooks");
		return;
	}
	setup_synced(1, true);
	snprintf(conf, sizeof(conf), "%s/100.conf", dir);
	f = fopen(conf, "w");
	fprintf(f, "name: vm0\nscsi0: /dev/vg-old/vm0,size=1M\n");
	fclose(f);
	snprintf(xml, sizeof(xml), "%s/vm0.xml", dir);
	f = fopen(xml, "w");
	fprintf(f, "<domain><devices><disk type='block'><source dev='/dev/vg-old/vm0'/></disk>"
		"</devices></domain>\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "tee %s/in.json | ../tools/hooks/proxmox-repoint --vmid 100 "
		 "--config-dir %s && ../tools/hooks/libvirt-repoint --xml %s < %s/in.json", dir, dir,
		 xml, dir);
	r = LM(NULL, "switch", vm[0], "--post-commit-hook", cmd);
	is_int(r, 0, "switch with both example hooks: exit 0");
	if (r)
		printf("# %s", err);
	f = fopen(conf, "r");
	if (f && !fread(buf, 1, sizeof(buf) - 1, f))
		buf[0] = 0;
	if (f)
		fclose(f);
	snprintf(want, sizeof(want), "name: vm0\nscsi0: %s,size=1M\n", dst[0]);
	is_str(buf, want, "proxmox-repoint moved the VM's disk to the destination");
	f = fopen(xml, "r");
	memset(buf, 0, sizeof(buf));
	if (f && !fread(buf, 1, sizeof(buf) - 1, f))
		buf[0] = 0;
	if (f)
		fclose(f);
	snprintf(want, sizeof(want), "<source dev='%s'/>", dst[0]);
	ok(strstr(buf, want) != NULL, "libvirt-repoint moved the domain's disk: %s", buf);
}

int main(void)
{
	hs_begin("hook");

	test_single();
	test_failing();
	test_not_run();
	test_group();
	test_example_hooks();

	hs_end();
	return tap_done();
}
