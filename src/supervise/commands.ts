// The control characters, one table for daemontools' svc and runit's sv.
// A signal command sends its signal to the current child (run or finish).
export type Command =
  | { kind: 'up' } | { kind: 'once' } | { kind: 'down' } | { kind: 'exit' }
  | { kind: 'pause' } | { kind: 'cont' }
  | { kind: 'signal'; signal: NodeJS.Signals };

const TABLE: Record<string, Command> = {
  u: { kind: 'up' },
  o: { kind: 'once' },
  d: { kind: 'down' },
  x: { kind: 'exit' },
  p: { kind: 'pause' },
  c: { kind: 'cont' },
  h: { kind: 'signal', signal: 'SIGHUP' },
  a: { kind: 'signal', signal: 'SIGALRM' },
  i: { kind: 'signal', signal: 'SIGINT' },
  q: { kind: 'signal', signal: 'SIGQUIT' },
  1: { kind: 'signal', signal: 'SIGUSR1' },
  2: { kind: 'signal', signal: 'SIGUSR2' },
  w: { kind: 'signal', signal: 'SIGWINCH' },
  t: { kind: 'signal', signal: 'SIGTERM' },
  k: { kind: 'signal', signal: 'SIGKILL' },
};

/** The command for one byte read from supervise/control; unknown bytes are ignored. */
export function command(ch: string): Command | undefined {
  return Object.prototype.hasOwnProperty.call(TABLE, ch) ? TABLE[ch] : undefined;
}
