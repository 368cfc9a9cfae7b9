// unixserver's log lines, ucspi-unix's words: with -v, on standard output,
// one line at a time ("unixserver: status: 1/10", "unixserver: pid 123",
// "unixserver: end 123 status 0"); errors as perror(3) words them, on
// standard error. A program that cannot be run is logged as the original's
// child that failed execvp: "execvp: ..." and exit status 255 (65280).
import { decimal } from '../decimal';
import { strerror } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import type { ExitStatus } from '../launch/launch';
import type { ConnFacts, EngineLog } from '../log/log';
import { performance } from 'node:perf_hooks';

/** printf's %d of an unsigned: values over 2^31 - 1 print negative, as ucspi-unix's status line. */
const asInt = (n: number) => decimal(n | 0);

export function unixLog(verbose: boolean, pseudoPid = process.pid): EngineLog {
  const out = (line: string) => writeLine(line, 1);
  return {
    connections: verbose,
    listening() {},
    status(active, max) {
      if (verbose) out(`unixserver: status: ${asInt(active)}/${asInt(max)}`);
    },
    from() {},
    connection(pid) {
      if (verbose) out(`unixserver: pid ${decimal(pid)}`);
    },
    rate() {},
    end(st: ExitStatus) {
      if (!verbose) return;
      // The raw wait status; a client that got no child ended as the original's child whose exec failed.
      const w = st.pid === pseudoPid ? 0xff00 : st.code !== null ? (st.code & 0xff) << 8 : (st.signal ?? 0) & 0x7f;
      out(`unixserver: end ${decimal(st.pid)} status ${w}`);
    },
    cannotRun(_prog, err) {
      writeLine(`execvp: ${strerror(err)}`);
    },
    drop(what, err) {
      writeLine(`${what}: ${strerror(err)}`);
    },
    cannotReadRules() {},
    warn(what, err) {
      writeLine(`unixserver: warning: ${what}${err === undefined ? '' : `: ${strerror(err)}`}`);
    },
    sigterm() {},
  };
}

/**
 * --log-json (ours): one JSON object per line on standard output in place of
 * the -v lines: start (pid, and the peer's pid, uid and gid when known) and
 * end (pid, exit or signal, duration_ms); errors on standard error.
 */
export function unixJsonLog(pseudoPid = process.pid): EngineLog {
  const emit = (fd: number, event: string, o: Record<string, unknown> = {}) =>
    writeLine(JSON.stringify({ time: new Date().toISOString(), prog: 'unixserver', event, ...o }), fd);
  const peerOf = (c: ConnFacts): Record<string, unknown> => {
    const p = (c as { peer?: { pid: number; uid: number; gid: number } }).peer;
    return p ? { peer_pid: p.pid, peer_uid: p.uid, peer_gid: p.gid } : {};
  };
  return {
    connections: true,
    timed: true,
    listening() {},
    status() {},
    from() {},
    connection(pid, c) {
      emit(1, 'start', { pid, ...peerOf(c) });
    },
    rate() {},
    end(st, c) {
      const o: Record<string, unknown> = { pid: st.pid };
      if (st.pid === pseudoPid) o.exit = 255;
      else if (st.code !== null) o.exit = st.code;
      else o.signal = st.signal;
      if (c?.t0 !== undefined) o.duration_ms = Math.round((performance.now() - c.t0) * 1000) / 1000;
      emit(1, 'end', o);
    },
    cannotRun(prog, err) {
      emit(2, 'error', { what: `unable to run ${prog}`, error: strerror(err) });
    },
    drop(what, err) {
      emit(2, 'error', { what, error: strerror(err) });
    },
    cannotReadRules() {},
    warn(what, err) {
      emit(2, 'warning', err === undefined ? { what } : { what, error: strerror(err) });
    },
    sigterm() {},
  };
}
