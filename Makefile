# SPDX-License-Identifier: GPL-2.0
#
# ip_vs_sync_auth: top-level entry points. Every target does the set-up it
# needs (Debian packages, bindgen, virtme-ng, kernel source and a cached
# kernel build under $(IPVS_AUTH_CACHE), default ~/.cache/ip_vs_sync_auth),
# so whichever you run first on a fresh Debian bookworm machine just works.
#
#   make            build ip_vs_sync_auth.ko (src/ip_vs_sync_auth.ko)
#   make KDIR=DIR   build it against another kernel build tree (Rust-enabled,
#                   with its Rust build products; RUSTC=, BINDGEN= as needed)
#   make install    install it into $(INSTALL_MOD_PATH)/lib/modules/REL/updates
#                   and run depmod; make uninstall removes it (KDIR= as above)
#   make check      all tests: rustfmt, clippy, cargo test, module build,
#                   KUnit and integration tests in QEMU
#   make check-debug the same on the debug kernel variant (lockdep,
#                   kmemleak, ...; its own cached build; not run by CI)
#   make check-kasan the same on the debug variant plus KASAN (C built
#                   with clang-19; its own cached build; not run by CI)
#                   Any check target takes TESTS="25 41 ...": only those
#                   integration tests (by number or name), then 99-kernel-log
#   make deb        Debian packages: ip-vs-sync-auth-dkms and the patched
#                   ipvsadm (out/deb; lintian must find no error)
#   make check-deploy output redirection, make deb, and QEMU tests 50-55
#   make demo       the two-director demo in QEMU
#   make bench      in-kernel benchmark in QEMU (prints numbers)
#   make bench-compare BASE=REV  the in-kernel benchmark of commit REV and
#                   of this tree in one guest, alternating (BENCH_ROUNDS=3),
#                   and the ratio of every figure, best of the rounds
#                   and the median of the rounds' paired ratios
#   make test       host tests only (cargo test)
#   make fuzz       property tests of the pure parsers at scale (bounded)
#   make fmt        reformat the Rust sources
#   make clean      remove build products from the tree (not the cache)

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# When Kbuild reads this directory (make -C KDIR M=...), it uses Kbuild,
# not this file; these targets are for people.
.PHONY: all setup kernel module install uninstall deb check-deploy bench-compare check check-debug check-kasan demo bench test fuzz fmt fmtcheck clippy clean

all: module

setup:
	@$(TOP)/scripts/setup.sh
	@$(TOP)/scripts/build-ipvsadm.sh >/dev/null

kernel: setup
	@$(TOP)/scripts/build-kernel.sh >/dev/null

# With KDIR, no set-up and no test kernel: build against that tree.
module: $(if $(KDIR),,kernel)
	@$(TOP)/scripts/build-module.sh

install:
	@$(TOP)/scripts/install-module.sh install

uninstall:
	@$(TOP)/scripts/install-module.sh uninstall

check:
	@IPVS_AUTH_TESTS='$(TESTS)' $(TOP)/scripts/check.sh

deb: setup
	@$(TOP)/scripts/build-deb.sh

check-deploy:
	@$(TOP)/scripts/check-deploy.sh

# The same suite on the debug kernel (qemu/kernel-debug.config). It builds
# a second kernel on first use; the module is rebuilt for whichever kernel
# the last target used.
check-debug:
	@IPVS_AUTH_VARIANT=debug IPVS_AUTH_TESTS='$(TESTS)' $(TOP)/scripts/check.sh

# ... and with KASAN on top (qemu/kernel-kasan.config).
check-kasan:
	@IPVS_AUTH_VARIANT=kasan IPVS_AUTH_TESTS='$(TESTS)' $(TOP)/scripts/check.sh

demo: module
	@$(TOP)/qemu/run.sh $(TOP)/qemu/demo.sh

# In-kernel benchmark in QEMU (TCG): prints a table, asserts nothing.
bench: module
	@$(TOP)/qemu/run.sh $(TOP)/qemu/bench.sh

bench-compare:
	@BASE='$(BASE)' $(TOP)/scripts/bench-compare.sh

test:
	cargo test --locked

fuzz:
	@mkdir -p $(TOP)/out
	@$(TOP)/scripts/fuzz.sh

fmt:
	/usr/bin/rustfmt --edition 2021 --config-path $(TOP)/.rustfmt.toml \
		$(TOP)/src/ip_vs_sync_auth_main.rs $(TOP)/src/proto/lib.rs $(TOP)/examples/*.rs

fmtcheck:
	/usr/bin/rustfmt --check --edition 2021 --config-path $(TOP)/.rustfmt.toml \
		$(TOP)/src/ip_vs_sync_auth_main.rs $(TOP)/src/proto/lib.rs $(TOP)/examples/*.rs

clippy:
	cargo clippy --locked --all-targets -- -D warnings

clean:
	-@[ -x $(TOP)/scripts/build-kernel.sh ] && [ -d "$$($(TOP)/scripts/build-kernel.sh --print 2>/dev/null)" ] && \
		$(TOP)/scripts/build-module.sh clean
	rm -rf $(TOP)/target $(TOP)/out $(TOP)/src/ip_vs_sync_auth_shim_generated.rs \
		$(TOP)/src/kapi_bindings_generated.rs $(TOP)/src/kapi_bindings_known.txt
