# SPDX-License-Identifier: GPL-2.0
#
# Sourced by every guest command of qemu/run.sh, before its script.
#
# virtme-ng's init connects the script's stdout and stderr, and passes its
# exit status back to vng, through virtio serial ports that it looks for
# as /dev/virtio-ports/virtme.*: symlinks that udev makes. It looks once,
# after `udevadm settle --timeout=300`. On a guest whose udev is not done
# by then (the KASAN kernel with kmemleak took about 10 minutes to boot)
# the symlinks are missing: init runs the script with the console as its
# output (shown only with IPVS_AUTH_VM_VERBOSE=1), writes its exit status
# only if the status port's symlink exists once it has ended, and vng
# returns 255 with none of the output although the script ran. Then the
# script finds the ports itself, by their names in sysfs, and opens their
# device nodes, which devtmpfs makes without udev (guest_exit below).
# scripts/guest-io-selftest.sh boots a guest without udev to check this.

# guest_port NAME: the device node of the virtio serial port NAME.
guest_port() {
	for d in /sys/class/virtio-ports/*; do
		if [ "$(cat "$d/name" 2>/dev/null)" = "$1" ] && [ -c "/dev/${d##*/}" ]; then
			echo "/dev/${d##*/}"
			return 0
		fi
	done
	return 1
}

guest_ret_port=
if [ ! -e /dev/virtme.ret ]; then
	# The ports may still be probing: wait for them, up to 10 minutes.
	guest_wait=0
	until guest_out_port=$(guest_port virtme.stdout) &&
		guest_err_port=$(guest_port virtme.stderr) &&
		guest_ret_port=$(guest_port virtme.ret); do
		guest_ret_port=
		guest_wait=$((guest_wait + 1))
		[ "$guest_wait" -le 600 ] || break
		sleep 1
	done
	if [ -n "$guest_ret_port" ]; then
		exec >"$guest_out_port" 2>"$guest_err_port"
		if [ "${guest_stop_udev:-0}" = never ]; then
			guest_why="udev never started: IPVS_AUTH_STOP_UDEV=never"
		else
			guest_why="udev was not done after ${guest_wait} s more"
		fi
		echo "qemu/run.sh: virtme-ng's init found no script I/O ports ($guest_why); the guest script writes to them itself" >&2
	fi
fi

# With guest_stop_udev=1 (qemu/run.sh: IPVS_AUTH_STOP_UDEV=1), udevd and
# its workers are stopped here, before the script runs: in a slow guest
# udevd kept the CPU about half busy long after boot, with its queue
# empty, and no longer answered `udevadm control --exit`. No test needs
# udev once the guest is up: the script's ports are found above, and the
# status port's symlink is made by guest_exit below when udev has not
# made it. With IPVS_AUTH_STOP_UDEV=never udevd never started.
if [ "${guest_stop_udev:-0}" = 1 ]; then
	pkill -TERM -x systemd-udevd 2>/dev/null
	guest_wait=0
	# Until it is gone; a zombie (stopped, not reaped yet) counts as gone.
	while [ "$(ps -o stat= -C systemd-udevd 2>/dev/null | grep -vc Z)" != 0 ] &&
		[ "$guest_wait" -lt 10 ]; do
		guest_wait=$((guest_wait + 1))
		sleep 1
	done
	pkill -KILL -x systemd-udevd 2>/dev/null
	pkill -KILL -x '(udev-worker)' 2>/dev/null
	echo "qemu/run.sh: udevd stopped in the guest before its script (IPVS_AUTH_STOP_UDEV=1)" >&2
fi

# guest_exit STATUS: ends the guest command with STATUS, which goes back
# to vng through the status port if init did not connect it. Not by
# writing it here: init (virtme-ng 1.42's run_user_script_on_console),
# once the command has ended, writes its exit status itself to
# /dev/virtio-ports/virtme.ret if that exists by then -- udev's symlink,
# which a slow udev makes while a long script runs. Two writers left "0"
# after our "0\n" in vng's status file, no number, and vng returned 255
# (both KASAN guests of 2026-12-03). So there is one writer, init: the
# symlink is made here if udev has not made it. What was done goes to
# $guest_exit_log (qemu/run.sh's out directory, shared with the host).
guest_exit() {
	if [ -n "$guest_ret_port" ]; then
		# udev's symlink or ours: either way init writes through it.
		guest_did=$( (mkdir -p /dev/virtio-ports &&
			ln -s "$guest_ret_port" /dev/virtio-ports/virtme.ret) 2>&1)
		if [ -e /dev/virtio-ports/virtme.ret ]; then
			guest_did="left to init"
		else
			# Init will find no path to write to: the status is
			# written here, the one writer then.
			echo "$1" >"$guest_ret_port"
			guest_did="written here (no symlink: $guest_did)"
		fi
		[ -z "${guest_exit_log:-}" ] ||
			echo "status $1 $guest_did -> $(readlink -f /dev/virtio-ports/virtme.ret) (port $guest_ret_port; uptime $(cut -d' ' -f1 /proc/uptime) s)" >"$guest_exit_log"
	fi
	exit "$1"
}
