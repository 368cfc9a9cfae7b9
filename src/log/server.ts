// tcpserver's log lines (ucspi-tcp wording), on stderr. Verbosity: 0 (-q)
// silent, 1 (-Q, default) errors only, 2 (-v) every connection.
import type { ExitStatus } from '../launch/launch';
import { decimal } from '../decimal';
import { errstr } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import type { ConnFacts, EngineLog, Verdict } from './log';
import { ipSafe, safecats } from '../lib/safe';

const DROP = 'tcpserver: warning: dropping connection, ';

/** IPv6 addresses keep their colons (ucspi-tcp6), nothing but address text; IPv4 goes through safecats. */
function ipField(ip: string): string {
  return ipSafe(ip, safecats);
}

// The lines every client gets at -v: where it came from, and what was done.
const fromLine = (pid: number, ip: string) => `tcpserver: pid ${decimal(pid)} from ${ipField(ip)}`;
const verdictLine = (pid: number, c: ConnFacts, word: string) => `tcpserver: ${word} ${decimal(pid)} ` +
  `${safecats(c.localHost)}:${ipField(c.localIp)}:${c.localPort} ` +
  `${safecats(c.remoteHost)}:${ipField(c.remoteIp)}:${safecats(c.remoteInfo)}:${decimal(c.remotePort)}`;

export function serverLog(verbosity: number): EngineLog {
  return {
    connections: verbosity >= 2,
    listening() {
      // tcpserver announces itself only through its first status line.
    },
    status(active, max) {
      if (verbosity >= 2) writeLine(`tcpserver: status: ${active}/${max}`);
    },
    from(pid, ip) {
      if (verbosity >= 2) writeLine(fromLine(pid, ip));
    },
    connection(pid, c: ConnFacts, verdict: Verdict) {
      if (verbosity < 2) return;
      writeLine(`${fromLine(pid, c.remoteIp)}\n${verdictLine(pid, c, verdict === 'deny' ? 'deny' : 'ok')}`);
    },
    rate(pid, c, r) {
      // Only with --rate: the usual pid and deny lines, the rate line between them.
      if (verbosity < 2) return;
      writeLine(`${fromLine(pid, c.remoteIp)}\n` +
        `tcpserver: rate ${decimal(pid)} ${r.key === c.remoteIp ? ipField(r.key) : r.key} ${r.count}/${r.seconds}\n` +
        verdictLine(pid, c, 'deny'));
    },
    end(st: ExitStatus) {
      // The raw wait status, as ucspi-tcp prints it: code << 8, or the signal number.
      if (verbosity < 2) return;
      const w = st.code !== null ? (st.code & 0xff) << 8 : (st.signal ?? 0) & 0x7f;
      writeLine(`tcpserver: end ${decimal(st.pid)} status ${w}`);
    },
    cannotRun(prog, err) {
      if (verbosity >= 1) writeLine(`${DROP}unable to run ${prog}: ${errstr(err)}`);
    },
    drop(what, err) {
      if (verbosity >= 1) writeLine(`${DROP}${what}: ${errstr(err)}`);
    },
    cannotReadRules(path, err) {
      if (verbosity >= 1) writeLine(`${DROP}unable to read ${path}: ${errstr(err)}`);
    },
    warn(what, err) {
      if (verbosity >= 1) writeLine(`tcpserver: warning: ${what}${err === undefined ? '' : ': ' + errstr(err)}`);
    },
    sigterm() {
      // tcpserver exits silently on SIGTERM.
    },
  };
}
