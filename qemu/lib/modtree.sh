# SPDX-License-Identifier: GPL-2.0
#
# A writable module tree in the guest, as on a real director, for the tests
# that install the module (make install, DKMS, the Debian package).
#
# virtme-ng makes /lib/modules a tmpfs holding one symbolic link,
# /lib/modules/RELEASE, into the kernel build (read-only in the guest),
# whose links are relative. writable_modtree replaces that link with a
# copy of the tree (the modules themselves copied, ~10 MB on the tmpfs)
# and points its `build` link at the kernel build tree ($KBUILD), where
# DKMS looks for it. Sets MODLIB.

writable_modtree() {
	: "${KBUILD:?KBUILD not set (qemu/run.sh passes it)}"
	MODLIB=/lib/modules/$(uname -r)
	if [ -L "$MODLIB" ]; then
		src=$(readlink -f "$MODLIB")
		rm "$MODLIB" || fail "cannot remove the link $MODLIB"
		mkdir "$MODLIB" || fail "cannot create $MODLIB"
		for f in "$src"/*; do
			case ${f##*/} in build | source) ;; *) cp -RL "$f" "$MODLIB/" || fail "cannot copy $f" ;; esac
		done
	fi
	rm -f "$MODLIB/build"
	ln -s "$KBUILD" "$MODLIB/build"
	touch "$MODLIB/.writable" && rm "$MODLIB/.writable" || fail "$MODLIB is not writable"
	depmod || fail "depmod failed in the copy of the module tree"
}
