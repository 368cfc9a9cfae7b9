#!/bin/sh
# ipsvd.sh DIR: ipsvd 1.0.0's own checks (src/tcpsvd.check,
# src/udpsvd.check and src/ipsvd-cdb.check, against their .dist files) run
# once with the Debian tcpsvd/udpsvd/ipsvd-cdb and once with ours. DIR is where the ipsvd sources were
# extracted (git -C .../g-pape+ipsvd/repo archive v1.0.0 | tar -x -C DIR).
# sslsvd and sslio are not ours and are not run.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[ $# -eq 1 ] || { echo 'usage: ipsvd.sh DIR' >&2; exit 100; }
src=$(cd "$1/src" 2>/dev/null && pwd) || die "$1/src: no such directory (extract ipsvd 1.0.0 there)"
for f in tcpsvd.check tcpsvd.dist udpsvd.check udpsvd.dist ipsvd-cdb.check ipsvd-cdb.dist check-tcpsvd.c check-udpsvd.c check-ipsvd-cdb.c Makefile; do
  [ -r "$src/$f" ] || die "$src/$f is missing"
done
checkroot
need make gcc
runas=${CONF_USER:-nobody} rungroup=${CONF_GROUP:-nogroup}
work=$(scratch ipsvd)
cleanup

# The checks drive the servers with two small programs of the suite
# (check-tcpsvd, check-udpsvd: clients; check-ipsvd-cdb: a cdb dumper); build them from a
# copy of the extracted sources, as `make check` would.
cp -r "$src" "$work/build"
(cd "$work/build" && make check-tcpsvd check-udpsvd check-ipsvd-cdb) >"$work/make.log" 2>&1 ||
  { cat "$work/make.log" >&2; die 'building the check helpers failed'; }

for which in debian ours; do
  d=$work/$which
  farm "$d" "$which"
  for f in check-tcpsvd check-udpsvd check-ipsvd-cdb; do cp "$work/build/$f" "$d/"; done
  for f in tcpsvd.check udpsvd.check ipsvd-cdb.check; do cp "$src/$f" "$d/"; chmod 755 "$d/$f"; done
  chown -R "$runas:$rungroup" "$d"
  # What ipsvd's check-local does, with $DNSCACHEIP kept (no lookup leaves
  # the namespace) and our farm first on PATH.
  in_ns "$runas" "cd '$d' && for c in tcpsvd udpsvd ipsvd-cdb; do
      env - PATH='$d:$basepath' ctmp='$d/check-tmp' DNSCACHEIP=\"\$DNSCACHEIP\" \$c.check 2>&1 | cat -v >\$c.out
    done" || die "the $which run failed or timed out"
done

status=0
for c in tcpsvd udpsvd ipsvd-cdb; do
  node "$conf/compare.js" "$src/$c.dist" "$work/debian/$c.out" "$work/ours/$c.out" '' "ipsvd $c" || status=1
done
exit $status
