// tcpserver's log lines (ucspi-tcp wording), on stderr. Verbosity: 0 (-q)
// silent, 1 (-Q, default) errors only, 2 (-v) every connection.
import type { ExitStatus } from '../launch/launch';
import { decimal } from '../decimal';
import { errstr } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import type { ConnFacts, EngineLog, Verdict } from './log';
import { ipSafe, safecats } from '../lib/safe';

/** IPv6 addresses keep their colons (ucspi-tcp6), nothing but address text; IPv4 goes through safecats. */
function ipField(ip: string): string {
  return ipSafe(ip, safecats);
}

// The lines every client gets at -v: where it came from, and what was done.
const fromLine = (P: string, pid: number, ip: string) => `${P}: pid ${decimal(pid)} from ${ipField(ip)}`;
const verdictLine = (P: string, pid: number, c: ConnFacts, word: string) => `${P}: ${word} ${decimal(pid)} ` +
  `${safecats(c.localHost)}:${ipField(c.localIp)}:${c.localPort} ` +
  `${safecats(c.remoteHost)}:${ipField(c.remoteIp)}:${safecats(c.remoteInfo)}:${decimal(c.remotePort)}`;

/** P: the name the lines begin with (sslserver's are tcpserver's words under its own name). */
export function serverLog(verbosity: number, P = 'tcpserver'): EngineLog {
  const DROP = `${P}: warning: dropping connection, `;
  return {
    connections: verbosity >= 2,
    listening() {
      // tcpserver announces itself only through its first status line.
    },
    status(active, max) {
      if (verbosity >= 2) writeLine(`${P}: status: ${active}/${max}`);
    },
    from(pid, ip) {
      if (verbosity >= 2) writeLine(fromLine(P, pid, ip));
    },
    connection(pid, c: ConnFacts, verdict: Verdict) {
      if (verbosity < 2) return;
      writeLine(`${fromLine(P, pid, c.remoteIp)}\n${verdictLine(P, pid, c, verdict === 'deny' ? 'deny' : 'ok')}`);
    },
    rate(pid, c, r) {
      // Only with --rate: the usual pid and deny lines, the rate line between them.
      if (verbosity < 2) return;
      writeLine(`${fromLine(P, pid, c.remoteIp)}\n` +
        `${P}: rate ${decimal(pid)} ${r.key === c.remoteIp ? ipField(r.key) : r.key} ${r.count}/${r.seconds}\n` +
        verdictLine(P, pid, c, 'deny'));
    },
    end(st: ExitStatus) {
      // The raw wait status, as ucspi-tcp prints it: code << 8, or the signal number.
      if (verbosity < 2) return;
      const w = st.code !== null ? (st.code & 0xff) << 8 : (st.signal ?? 0) & 0x7f;
      writeLine(`${P}: end ${decimal(st.pid)} status ${w}`);
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
      if (verbosity >= 1) writeLine(`${P}: warning: ${what}${err === undefined ? '' : ': ' + errstr(err)}`);
    },
    sigterm() {
      // tcpserver exits silently on SIGTERM.
    },
  };
}
