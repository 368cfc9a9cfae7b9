// --log-json: one JSON object per line in place of the text lines, for a log
// pipeline that parses. Connection events go where the text would (tcpsvd's
// info lines on standard output, tcpserver's on standard error), warnings and
// drops on standard error; each line is written whole, in one write(2).
// Fields: time (ISO 8601, UTC, ms), prog, event, pid, and as known: the
// addresses and ports, remote_host, remote_info, decision, reason, matched
// (the rule or entry that matched), concurrency, duration_ms, exit or signal.
// The -v status lines are not repeated (--status has the counts).
import { performance } from 'node:perf_hooks';
import type { Decision } from '../decide/decision';
import { errstr } from '../lib/errstr';
import type { ExitStatus } from '../launch/launch';
import { writeLine } from '../lib/strerr';
import type { ConnFacts, EngineLog } from './log';

type Obj = Record<string, unknown>;

function conn(o: Obj, c: ConnFacts): Obj {
  o.remote_ip = c.remoteIp;
  o.remote_port = c.remotePort;
  o.local_ip = c.localIp;
  o.local_port = c.localPort;
  if (c.localHost !== undefined) o.local_host = c.localHost;
  if (c.remoteHost !== undefined) o.remote_host = c.remoteHost;
  if (c.remoteInfo !== undefined) o.remote_info = c.remoteInfo;
  return o;
}

/** prog: tcpsvd or tcpserver; infoFd: where its connection lines go. */
export function jsonLog(prog: string, infoFd: number): EngineLog {
  const emit = (fd: number, event: string, o: Obj = {}) =>
    writeLine(JSON.stringify({ time: new Date().toISOString(), prog, event, ...o }), fd);
  // "from" precedes a drop: the drop's line carries the client.
  let from: { pid: number; ip: string } | undefined;
  const fromFields = (): Obj => {
    const o: Obj = from ? { pid: from.pid, remote_ip: from.ip } : {};
    from = undefined;
    return o;
  };
  return {
    connections: true,
    timed: true,
    listening(ip, port, uid, gid) {
      emit(infoFd, 'listening', uid === undefined ? { ip, port } : { ip, port, uid, gid });
    },
    status() {
      // Not repeated: --status and --metrics have the counts.
    },
    from(pid, ip) {
      from = { pid, ip };
    },
    connection(pid, c, verdict, conc, d: Decision) {
      const o: Obj = { pid, decision: verdict };
      conn(o, c);
      if (d.matched !== undefined) o.matched = d.matched;
      if (conc) o.concurrency = { key: conc[2] ?? c.remoteIp, n: conc[0], limit: conc[1] };
      // As the counters have it: the rules' deny first, else the limit's.
      if (verdict === 'deny') o.reason = d.action === 'deny' ? 'rules' : 'limit';
      emit(infoFd, verdict, o);
    },
    rate(pid, c, r) {
      emit(infoFd, 'deny', conn({ pid, decision: 'deny', reason: 'rate',
        rate: { key: r.key, count: r.count, seconds: r.seconds } }, c));
    },
    end(st: ExitStatus, c?: ConnFacts) {
      const o: Obj = { pid: st.pid };
      if (c) {
        conn(o, c);
        if (c.t0 !== undefined) o.duration_ms = Math.round((performance.now() - c.t0) * 1000) / 1000;
      }
      if (st.code !== null) o.exit = st.code;
      else o.signal = st.signal;
      emit(infoFd, 'end', o);
    },
    cannotRun(prog, err) {
      emit(2, 'drop', { ...fromFields(), what: 'unable to run', prog, error: errstr(err) });
    },
    drop(what, err) {
      emit(2, 'drop', { ...fromFields(), what, error: errstr(err) });
    },
    cannotReadRules(path, err) {
      emit(2, 'drop', { ...fromFields(), what: 'unable to read rules', path, error: errstr(err) });
    },
    warn(what, err) {
      emit(2, 'warning', err === undefined ? { what } : { what, error: errstr(err) });
    },
    sigterm() {
      emit(infoFd, 'sigterm');
    },
  };
}
