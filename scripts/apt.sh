# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# apt helpers shared by scripts/setup.sh and scripts/build-ipvsadm.sh.
# Sourced; needs bash.

# Print the fields of the enabled deb822 stanzas in /etc/apt as
# "TYPES|URIS|SUITES|COMPONENTS", one stanza a line.
deb822_stanzas() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			t = u = s = c = ""; en = "yes"
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^[ \t]*#/) continue
				k = tolower($i); sub(/:.*/, "", k)
				v = $i; sub(/^[^:]*:[ \t]*/, "", v)
				if (k == "types") t = v
				else if (k == "uris") u = v
				else if (k == "suites") s = v
				else if (k == "components") c = v
				else if (k == "enabled") en = tolower(v)
			}
			if (en != "no" && t != "") print t "|" u "|" s "|" c
		}' "$f"
	done
}

# One-line-style entries as "TYPE|URI|SUITE|COMPONENTS".
one_line_entries() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk '$1 == "deb" || $1 == "deb-src" {
				c = ""; for (i = 4; i <= NF; i++) c = c " " $i
				print $1 "|" $2 "|" $3 "|" c
			}'
	done
}

# Is there an entry of TYPE (deb or deb-src) for bookworm main?
has_bookworm_main() {
	local type=$1
	{ deb822_stanzas; one_line_entries; } | awk -F'|' -v type="$type" '
		function has(list, w,   n, a, i) {
			n = split(list, a, /[ \t]+/)
			for (i = 1; i <= n; i++) if (a[i] == w) return 1
			return 0
		}
		has($1, type) && has($3, "bookworm") && has($4, "main") { found = 1 }
		END { exit !found }'
}

# The URI of the machine's bookworm `deb` entry (no host name hard-coded).
bookworm_uri() {
	{ deb822_stanzas; one_line_entries; } | awk -F'|' '
		function has(list, w,   n, a, i) {
			n = split(list, a, /[ \t]+/)
			for (i = 1; i <= n; i++) if (a[i] == w) return 1
			return 0
		}
		has($1, "deb") && has($3, "bookworm") && has($4, "main") {
			split($2, u, /[ \t]+/); print u[1]; exit
		}'
}

# Prints those of the given packages that are not installed.
missing_packages() {
	local p
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
			printf '%s\n' "$p"
		fi
	done
}
