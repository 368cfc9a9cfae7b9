// tcpsvd's log lines (ipsvd wording): info lines at -v on standard output, as
// ipsvd prints them; warnings and drops always, on standard error.
import type { ExitStatus } from '../launch/launch';
import { decimal } from '../decimal';
import { errstr } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import type { ConnFacts, EngineLog, MatchedEntry, Verdict } from './log';
import { ipSafe, outfix } from '../lib/safe';

const info = (s: string) => writeLine(s, 1);
// Addresses: IPv4 as ipsvd prints it; IPv6 with its colons, as ucspi-tcp6
// prints it (ipsvd is IPv4-only; its outfix would turn them into '?').
const ip = (s: string) => ipSafe(s, outfix);

// entry: with -i/-x, the rule source's words for its matched entry, which end
// the start/deny/exec line (ipsvd prints the path, and at -vv the instructions
// too). name: udpsvd words its lines alike.
export function svdLog(verbose: number, entry?: MatchedEntry, name = 'tcpsvd'): EngineLog {
  const INFO = `${name}: info: `;
  // The lines every client gets at -v: where it came from, and what was done.
  const fromLine = (pid: number, addr: string) => `${INFO}pid ${decimal(pid)} from ${ip(addr)}`;
  const verdictLine = (pid: number, c: ConnFacts, word: string) => `${INFO}${word} ${decimal(pid)} ` +
    `${outfix(c.localHost)}:${ip(c.localIp)} :${outfix(c.remoteHost)}:${ip(c.remoteIp)}:${decimal(c.remotePort)}`;
  return {
    connections: verbose > 0,
    listening(addr, port, uid, gid) {
      if (!verbose) return;
      const ids = uid === undefined ? '' : `, uid ${uid}, gid ${gid}`;
      info(`${INFO}listening on ${ip(addr)}:${outfix(String(port))}${ids}, starting.`);
    },
    status(active, max) {
      if (verbose) info(`${INFO}status ${active}/${max}`);
    },
    from(pid, addr) {
      if (verbose) info(fromLine(pid, addr));
    },
    connection(pid, c: ConnFacts, verdict: Verdict, conc, d) {
      if (!verbose) return;
      let s = fromLine(pid, c.remoteIp) + '\n';
      // With --prefix, the network the client was counted in (our own text: digits, '.', ':', '/').
      if (conc) s += `${INFO}concurrency ${decimal(pid)} ${conc[2] ?? ip(c.remoteIp)} ${conc[0]}/${conc[1]}\n`;
      s += verdictLine(pid, c, verdict);
      if (entry) s += ' ' + entry(d, verbose > 1);
      info(s);
    },
    rate(pid, c, r) {
      if (!verbose) return;
      info(`${fromLine(pid, c.remoteIp)}\n` +
        `${INFO}rate ${decimal(pid)} ${r.key === c.remoteIp ? ip(r.key) : r.key} ${r.count}/${r.seconds}s\n` +
        verdictLine(pid, c, 'deny'));
    },
    end(st: ExitStatus) {
      // ipsvd prints the exit code; a child killed by a signal shows as exit 0.
      if (verbose) info(`${INFO}end ${decimal(st.pid)} exit ${st.code ?? 0}`);
    },
    cannotRun(prog, err) {
      writeLine(`${name}: drop: unable to run: ${prog}: ${errstr(err)}`);
    },
    drop(what, err) {
      writeLine(`${name}: drop: ${what}: ${errstr(err)}`);
    },
    cannotReadRules(path, err) {
      // As ipsvd: the store itself unreadable names it; one entry unreadable names the client.
      const ip = typeof err === 'string' ? undefined : (err as { checkInst?: string }).checkInst;
      if (ip !== undefined) writeLine(`${name}: drop: unable to check inst: ${outfix(ip)}: ${errstr(err)}`);
      else writeLine(`${name}: drop: unable to read: ${path}: ${errstr(err)}`);
    },
    warn(what, err) {
      writeLine(`${name}: warning: ${what}${err === undefined ? '' : ': ' + errstr(err)}`);
    },
    sigterm() {
      if (verbose) info(`${INFO}sigterm received, exit.`);
    },
  };
}
