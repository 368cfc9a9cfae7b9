#!/bin/sh
# daemontools.sh DIR [EXPECTED]: daemontools 0.76's rts.tests, once with the
# Debian supervise/svc/svok/svstat/multilog/tai64nlocal and once with ours.
# DIR is where daemontools 0.76 was extracted
# (git -C .../bruceg+daemontools-encore/repo archive 0.76 | tar -x -C DIR).
# 0.76 ships no expected output: EXPECTED (default DIR/rts.exp) is
# daemontools-encore's first rts.exp, written for the same rts.tests
# (git -C .../bruceg+daemontools-encore/repo show f94091f:rts.exp >DIR/rts.exp).
# encore words svstat's "down" state its own way; the harness rewrites those
# words, in a scratch copy, to djb's, which is what Debian's svstat prints.
#
# matchtest, a build-time test of daemontools' pattern matcher, is not a
# command of ours: its sections are skipped in the counts.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[ $# -ge 1 ] && [ $# -le 2 ] || { echo 'usage: daemontools.sh DIR [EXPECTED]' >&2; exit 100; }
dir=$(cd "$1" 2>/dev/null && pwd) || die "$1: no such directory"
exp=${2:-$dir/rts.exp}
[ -r "$dir/rts.tests" ] || die "$dir/rts.tests is missing"
[ -r "$exp" ] || die "$exp is missing (see the comment at the top of $0)"
checkroot
runas=${CONF_USER:-nobody} rungroup=${CONF_GROUP:-nogroup}
work=$(scratch daemontools)
cleanup

# encore's svstat ends a line with the supervisor's state in words
# (", starting", ", running"), which djb's svstat does not print: drop them.
sed -e 's/^\([^ ]*: \(up (pid x)\|down\) x seconds.*\), \(starting\|running\)$/\1/' "$exp" >"$work/expected"

for which in debian ours; do
  d=$work/$which
  farm "$d" "$which"
  chown -R "$runas:$rungroup" "$d"
  # rts.tests puts `pwd` first on PATH (the build directory): run it from the farm.
  in_ns "$runas" "cd '$d' && env - DNSCACHEIP=\"\$DNSCACHEIP\" sh '$dir/rts.tests' 2>&1 | cat -v >out" ||
    die "the $which run failed or timed out"
done

node "$conf/compare.js" "$work/expected" "$work/debian/out" "$work/ours/out" \
  '^(match )' 'daemontools 0.76'
