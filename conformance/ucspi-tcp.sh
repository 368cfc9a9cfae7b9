#!/bin/sh
# ucspi-tcp.sh DIR: ucspi-tcp 0.88's rts.tests against its rts.exp, once with
# the Debian tcpserver/tcprules/tcprulescheck (and daemontools' supervise and
# svc, which the suite uses to run its server) and once with ours. DIR is
# where ucspi-tcp 0.88 was extracted (the first commit of
# .../kp-org+ucspi-tcp/repo: git -C ... archive 6ab6704 | tar -x -C DIR).
#
# The client tools (tcpclient, tcpcat, mconnect, addcr, delcr, fixcrio,
# recordio, argv0) are ours in the second run too; rblsmtpd is ours when
# bin/ has it, else Debian's in both runs with its sections skipped in the
# counts. The last section is tcpserver's log of the suite's connections,
# some of them concurrent: compared as a multiset.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[ $# -eq 1 ] || { echo 'usage: ucspi-tcp.sh DIR' >&2; exit 100; }
dir=$(cd "$1" 2>/dev/null && pwd) || die "$1: no such directory"
for f in rts.tests rts.exp; do [ -r "$dir/$f" ] || die "$dir/$f is missing"; done
OURS="$OURS tcpclient tcpcat mconnect mconnect-io addcr delcr fixcrio recordio argv0"
skip='^rblsmtpd '
if [ -x "$ourbin/rblsmtpd" ]; then OURS="$OURS rblsmtpd"; skip=; fi
checkroot
# The suite assumes it runs neither as uid 0 or 1 nor as gid 0 or 2.
runas=${CONF_USER:-nobody} rungroup=${CONF_GROUP:-nogroup}
work=$(scratch ucspi-tcp)
cleanup

for which in debian ours; do
  d=$work/$which
  farm "$d" "$which"
  chown -R "$runas:$rungroup" "$d"
  # What rts.sh does, with $DNSCACHEIP kept: the suite assumes a DNS cache
  # that maps 127.0.0.1 <-> localhost, which the fake server in the
  # namespace provides.
  in_ns "$runas" "cd '$d' && env - PATH='$d:$basepath' DNSCACHEIP=\"\$DNSCACHEIP\" sh '$dir/rts.tests' 2>&1 | cat -v >out" ||
    die "the $which run failed or timed out"
done

node "$conf/compare.js" "$dir/rts.exp" "$work/debian/out" "$work/ours/out" \
  "$skip" 'ucspi-tcp 0.88' \
  '^tcpserver -1v '
