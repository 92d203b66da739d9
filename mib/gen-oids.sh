#!/bin/sh
# mib/gen-oids.sh MIB OUT SMIPATH: the C header of the MIB's OIDs, from
# smidump's list of identifiers, so that the MIB file stays the only place
# they are written (docs/MIB.md).  For every node, scalar, table, row,
# column and notification NAME:
#   IPSM_OID_NAME      the OID's arcs, comma-separated
#   IPSM_OIDLEN_NAME   how many
#   IPSM_COL_NAME      a column's number in its row (columns only)
#   IPSM_SUB_NAME      a scalar's last arc (scalars only)
# for every notification NAME, the objects it carries, in order:
#   IPSM_NOTIFY_OBJECTS_NAME(X)   X(OBJECT) ...
# and, for the two statistics groups, X-macro lists in MIB order:
#   IPSM_MIB_MM_STATS(X) / IPSM_MIB_QM_STATS(X)   X(NAME, "NAME", subid)
set -eu
mib=$1
out=$2
SMIPATH=$3
export SMIPATH
tmp=$out.tmp
smidump -l 6 -f identifiers "$mib" >"$tmp.ids"
{
	echo "/* Generated from $(basename "$mib") by mib/gen-oids.sh: do not edit. */"
	echo "#ifndef IPSM_MIB_OIDS_H"
	echo "#define IPSM_MIB_OIDS_H"
	echo
	awk '$1 != "#" && NF == 4 {
		arcs = $4; gsub(/\./, ",", arcs)
		n = split($4, a, ".")
		printf("#define IPSM_OID_%s %s\n#define IPSM_OIDLEN_%s %d\n",
		    $2, arcs, $2, n)
		if ($3 == "column")
			printf("#define IPSM_COL_%s %s\n", $2, a[n])
		if ($3 == "scalar")
			printf("#define IPSM_SUB_%s %s\n", $2, a[n])
	}' "$tmp.ids"
	for g in Mm Qm; do
		G=$(echo "$g" | tr a-z A-Z)
		base=$(awk -v g="ipsm${g}Stats" '$2 == g { print $4 }' "$tmp.ids")
		echo
		printf '#define IPSM_MIB_%s_STATS(X)' "$G"
		awk -v b="$base." '$3 == "scalar" && index($4, b) == 1 {
			s = substr($4, length(b) + 1)
			printf(" \\\n\tX(%s, \"%s\", %s)", $2, $2, s)
		}' "$tmp.ids"
		echo
	done
	echo
	# the OBJECTS clause of each NOTIFICATION-TYPE, from the MIB text
	awk '$2 == "NOTIFICATION-TYPE" { name = $1; next }
	name != "" && !grab && /::=/ { name = "" } # no OBJECTS: none
	name != "" && /OBJECTS/ { grab = 1 }
	grab {
		s = $0; sub(/.*OBJECTS/, "", s); gsub(/[{},]/, " ", s)
		n = split(s, w, " ")
		for (i = 1; i <= n; i++) objs = objs " X(" w[i] ")"
		if ($0 ~ /}/) {
			printf("#define IPSM_NOTIFY_OBJECTS_%s(X)%s\n", name, objs)
			name = ""; objs = ""; grab = 0
		}
	}' "$mib"
	echo
	echo "#endif"
} >"$tmp"
mv "$tmp" "$out"
rm -f "$tmp.ids"
