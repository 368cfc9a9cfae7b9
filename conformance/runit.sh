#!/bin/sh
# runit.sh DIR: runit 2.1.2's own checks (src/chpst.check, runsv.check,
# runsvdir.check, sv.check and svlogd.check, against their .dist files) run
# once with the Debian runit commands and once with ours. DIR is where the
# runit sources were extracted (git -C .../g-pape+runit/repo archive v2.1.2 |
# tar -x -C DIR). runit, runit-init, runsvchdir and utmpset are not ours.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[ $# -eq 1 ] || { echo 'usage: runit.sh DIR' >&2; exit 100; }
src=$(cd "$1/src" 2>/dev/null && pwd) || die "$1/src: no such directory (extract runit 2.1.2 there)"
CHECKS='chpst runsv runsvdir sv svlogd'
for c in $CHECKS; do
  for f in $c.check $c.dist; do [ -r "$src/$f" ] || die "$src/$f is missing"; done
done
OURS=$CHECKS
checkroot
runas=root
work=$(scratch runit)
cleanup

for which in debian ours; do
  d=$work/$which
  farm "$d" "$which"
  for c in $CHECKS; do cp "$src/$c.check" "$d/"; chmod 755 "$d/$c.check"; done
  # What runit's check-local does: a clean environment, the farm first on
  # PATH, a scratch directory per check; output through cat -v.
  in_ns "$runas" "cd '$d' && for c in $CHECKS; do
      env - PATH='$d:$basepath' ctmp='$d/check-tmp' \$c.check 2>&1 | cat -v >\$c.out
    done" || die "the $which run failed or timed out"
done

status=0
for c in $CHECKS; do
  node "$conf/compare.js" "$src/$c.dist" "$work/debian/$c.out" "$work/ours/$c.out" '' "runit $c" || status=1
done
exit $status
