# SPDX-License-Identifier: GPL-2.0
#
# dm-livemirror: out-of-tree build, guest tests, demo and install.
#
# The kernel version is taken from the installed headers, never from uname -r:
# the machines that build this run a kernel without modules.  KVER= overrides.
# KERNEL= picks the kernel the modules and the guest suite use: default
# (Debian's generic kernel), rt (Debian's PREEMPT_RT kernel) or debug (built
# from linux-source with KASAN, lockdep and friends; see 'make debug-kernel').
# Modules for rt and debug are built in a copy under build/kmod/, so the
# tree's own modules always match the default kernel.

PWD := $(shell pwd)
KERNEL ?= default
KVER ?= $(shell $(PWD)/tools/kernel/kernel-info $(KERNEL) kver)
KDIR ?= $(shell $(PWD)/tools/kernel/kernel-info $(KERNEL) kdir)
ifeq ($(KERNEL),default)
MODDIR := $(PWD)
else
MODDIR := $(PWD)/build/kmod/$(KERNEL)
endif
PREFIX ?= /usr/local
DESTDIR ?=

# Everything the project needs, from Debian's packages.
DEB_PACKAGES := linux-image-amd64 linux-headers-amd64 linux-source-6.1 \
	qemu-system-x86 busybox-static kmod cpio lvm2 thin-provisioning-tools \
	libdevmapper-dev fio e2fsprogs pkg-config xz-utils util-linux \
	gnuplot-nox gcc make perl python3 rsync dkms nvme-cli iproute2 spin libblkid-dev \
	lvm2-lockd sanlock

.PHONY: all modules helper tools deps check demo bench install dkms-install clean checkpatch lvm-kills \
	ksft debug-kernel soak stress race powercut powercut-lvm bench-pvmove test-modules knobs

all: modules helper

modules:
	@test -n "$(KVER)" || { echo "no kernel headers installed: run 'make deps'" >&2; exit 1; }
ifneq ($(KERNEL),default)
	mkdir -p $(MODDIR)
	rsync -a --include='*/' --include='*.[ch]' --include=Kbuild --include=Makefile \
	  --exclude='*' --prune-empty-dirs Kbuild dm-dirtylog dm-livemirror $(MODDIR)/
	mkdir -p $(MODDIR)/tools/testing/selftests/livemirror
	rsync -a --exclude='*.o' --exclude='*.ko' --exclude='.*' --exclude='*.mod*' \
	  --exclude=Module.symvers --exclude=modules.order \
	  tools/testing/selftests/livemirror/dirtylog-test $(MODDIR)/tools/testing/selftests/livemirror/
endif
	$(MAKE) -C $(KDIR) M=$(MODDIR) W=1 modules

# The test build: the same sources with the delay points of
# dm-livemirror/livemirror-testhooks.c, in a copy under build/kmod/, for the
# knob-*.sh guest tests (make knobs).  Never installed.
TESTMODDIR := $(PWD)/build/kmod/test-$(KERNEL)
test-modules:
	@test -n "$(KVER)" || { echo "no kernel headers installed: run 'make deps'" >&2; exit 1; }
	mkdir -p $(TESTMODDIR)
	rsync -a --include='*/' --include='*.[ch]' --include=Kbuild --include=Makefile \
	  --exclude='*' --prune-empty-dirs Kbuild dm-dirtylog dm-livemirror $(TESTMODDIR)/
	$(MAKE) -C $(KDIR) M=$(TESTMODDIR) W=1 LM_TEST_HOOKS=y modules

# The races that need a delay point to be hit (C1, L8), against the test
# build, in one guest with 2 vCPUs; the same tests skip on a normal module.
knobs: deps
	$(MAKE) all ksft test-modules
	LM_KERNEL=$(KERNEL) LM_MODDIR=$(TESTMODDIR) LM_SKIP_HOST=1 LM_GUEST_JOBS=1 \
	  tools/vm/run-tests -t 'knob-*.sh'

# The debug kernel is built once per machine and cached (see its script).
debug-kernel:
	$(MAKE) deps KERNEL=debug
	tools/kernel/build-debug-kernel

helper:
	$(MAKE) -C userspace

# Test tools that run inside the guest (power-cut replay and checking).
tools: modules
	$(MAKE) -C tools/replay-log
	$(MAKE) -C $(MODDIR)/tools/testing/selftests/livemirror/dirtylog-test KDIR=$(KDIR)

# The rt and debug kernels need more: the RT image and headers, or what a
# kernel build needs.
DEB_PACKAGES_rt := linux-image-rt-amd64 linux-headers-rt-amd64
DEB_PACKAGES_debug := bc flex bison libelf-dev libssl-dev

deps:
	@missing=""; for p in $(DEB_PACKAGES) $(DEB_PACKAGES_$(KERNEL)); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

# The kselftest build system, runner and headers come from Debian's
# linux-source, extracted at build time, never copied into the repository.
# Our collection is then installed beside them as the kselftest install does.
KSFT_DIR := $(PWD)/build/ksft
KSFT_FILES := lib.mk kselftest kselftest.h kselftest_harness.h run_kselftest.sh
ksft: $(KSFT_DIR)/lib.mk
	mkdir -p $(KSFT_DIR)/livemirror
	$(MAKE) -C tools/testing/selftests/livemirror KSFT_DIR=$(KSFT_DIR) \
	  OUTPUT=$(KSFT_DIR)/livemirror INSTALL_PATH=$(KSFT_DIR)/livemirror install
	$(MAKE) -s --no-print-directory -C tools/testing/selftests/livemirror KSFT_DIR=$(KSFT_DIR) \
	  OUTPUT=$(KSFT_DIR)/livemirror emit_tests >$(KSFT_DIR)/kselftest-list.txt
$(KSFT_DIR)/lib.mk:
	mkdir -p $(KSFT_DIR)
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C $(KSFT_DIR) --strip-components=4 \
	  $(addprefix linux-source-6.1/tools/testing/selftests/,$(KSFT_FILES))

CHECKPATCH := build/checkpatch/scripts/checkpatch.pl
$(CHECKPATCH):
	mkdir -p build/checkpatch
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C build/checkpatch --strip-components=1 \
	  linux-source-6.1/scripts/checkpatch.pl linux-source-6.1/scripts/spelling.txt \
	  linux-source-6.1/scripts/const_structs.checkpatch

checkpatch: $(CHECKPATCH)
	perl $(CHECKPATCH) --no-tree --terse -f $(filter-out %.mod.c,$(wildcard dm-livemirror/*.[ch] dm-dirtylog/*.[ch]))

check: deps
	$(MAKE) all tools ksft
	LM_KERNEL=$(KERNEL) LM_MODDIR=$(MODDIR) tools/vm/run-tests $(if $(T),$(foreach t,$(T),-t '$(t)'))

demo: deps
	$(MAKE) all
	tools/vm/run-in-guest --timeout 900 -- tools/demo/live-migration.sh

# The 30-minute soak (LM_SOAK_MINUTES, LM_SEED): not part of make check.
soak: deps
	$(MAKE) all
	tools/soak/run

# The long differential stress pass (LM_STRESS_OPS, default 10^6, checked
# every LM_STRESS_PHASE_OPS; LM_SEED): target-stress.sh in one guest with
# 2 vCPUs; not part of make check.
LM_STRESS_OPS ?= 1000000
LM_STRESS_PHASE_OPS ?= 20000
stress: deps
	$(MAKE) all ksft
	tools/vm/run-in-guest --timeout $$(( $(LM_STRESS_OPS) / 100 + 900 )) --mem 3072 --smp 2 \
	  --env LM_STRESS_OPS=$(LM_STRESS_OPS) $(if $(LM_SEED),--env LM_SEED=$(LM_SEED)) \
	  --env LM_STRESS_PHASE_OPS=$(LM_STRESS_PHASE_OPS) \
	  -- build/ksft/livemirror/target-stress.sh

# The review's parallel switch/cancel loop at full length (helper-race.sh with
# LM_RACE_ITERS, default 200; make check runs its 30-round short form) in one
# guest; about 4 s a round on an idle host, 15 s beside another guest.
LM_RACE_ITERS ?= 200
race: deps
	$(MAKE) all ksft
	tools/vm/run-in-guest --timeout $$(( $(LM_RACE_ITERS) * 20 + 600 )) --mem 3072 --smp 2 \
	  --env LM_RACE_ITERS=$(LM_RACE_ITERS) --env LM_RACE_MAX_S=$$(( $(LM_RACE_ITERS) * 20 )) \
	  -- build/ksft/livemirror/helper-race.sh

# lvmove killed at each of its fourteen steps (make check kills it at one, and
# a group at its commit), about two minutes a step under TCG.
lvm-kills: deps
	$(MAKE) all ksft
	tools/vm/run-in-guest --timeout 3000 --mem 2048 --smp 2 --env LM_LVMOVE_KILLS=all \
	  -- build/ksft/livemirror/helper-lvmove.sh

# The guest power cut mid-copy and the boot-time restart with trust_log
# (tools/tests/powercut-restart.sh, two guest boots, about 3 minutes); make
# check runs it among its host-side tests too.
powercut: deps
	$(MAKE) all tools
	tools/tests/powercut-restart.sh

# Power cuts at every step of lvmove and of a switch across VGs, each
# with a reboot that runs autoactivation and 'livemirror boot'
# (tools/tests/powercut-lvm.sh, two guest boots a step, 24 steps);
# make check runs it at each one's commit only.
powercut-lvm: deps
	$(MAKE) all tools
	PC_LVM_STEPS=all tools/tests/powercut-lvm.sh

bench: deps
	$(MAKE) all
	tools/bench/run

# pvmove and livemirror lvmove side by side: elapsed, fio IOPS during the
# move, bytes copied again after a power cut half way (three guest runs,
# about 25 minutes); Documentation/performance.rst has the last figures.
bench-pvmove: deps
	$(MAKE) all
	tools/bench/pvmove-compare

install: all
	install -d $(DESTDIR)/lib/modules/$(KVER)/updates
	install -m 644 dm-dirtylog/dm-dirtylog.ko dm-livemirror/dm-livemirror.ko \
	  $(DESTDIR)/lib/modules/$(KVER)/updates/
	[ -n "$(DESTDIR)" ] || depmod -a $(KVER)
	$(MAKE) -C userspace install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

# The DKMS way: instead of modules built for one kernel, the modules' source
# goes to $(DKMS_SRC)/dm-livemirror-<version> and DKMS builds and installs
# them now and for every kernel installed later (dkms.conf); the helper, its
# man page, the hooks and the boot unit come from the same userspace install
# as 'make install'.  With DESTDIR (a staging root) DKMS only builds, and
# DKMS_OPTS passes it other trees (tools/tests/dkms-build.sh).
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC ?= $(DESTDIR)/usr/src
DKMS_OPTS ?=
dkms-install:
	@command -v dkms >/dev/null || { echo "dkms is not installed: run 'make deps'" >&2; exit 1; }
	$(MAKE) -C userspace all
	rm -rf $(DKMS_SRC)/dm-livemirror-$(DKMS_VERSION)
	install -d $(DKMS_SRC)/dm-livemirror-$(DKMS_VERSION)
	find Kbuild dkms.conf dm-dirtylog dm-livemirror -name Kbuild -o -name dkms.conf \
	  -o -name '*.[ch]' ! -name '*.mod.c' | \
	  xargs cp --parents -t $(DKMS_SRC)/dm-livemirror-$(DKMS_VERSION)
	-dkms remove $(DKMS_OPTS) -m dm-livemirror -v $(DKMS_VERSION) --all >/dev/null 2>&1
	dkms add $(DKMS_OPTS) -m dm-livemirror -v $(DKMS_VERSION)
	dkms $(if $(DESTDIR),build,install) $(DKMS_OPTS) -m dm-livemirror -v $(DKMS_VERSION) -k $(KVER)
	$(MAKE) -C userspace install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

clean:
	-$(MAKE) -C $(KDIR) M=$(PWD) clean
	-$(MAKE) -C userspace clean
	-$(MAKE) -C tools/replay-log clean
	-$(MAKE) -C tools/testing/selftests/livemirror/dirtylog-test clean
	rm -rf build
