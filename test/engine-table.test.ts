// Engine through its seams, with fakes only: a listener that hands over made-up
// clients, a launcher that records and reports what the row says, a rule
// source, an identifier and a log that records every call. No socket, no
// child, no DNS. Each row: the configuration, the clients, what happens to
// them, then every log call and every launcher call, in order.
import t from 'tap';
import { Engine, type EngineConfig } from '../src/engine/engine';
import type { Decision, RuleSource } from '../src/decide/decision';
import type { Identifier, IdentifyFailure } from '../src/identify/identify';
import type { ExitStatus, Launcher, LaunchSpec } from '../src/launch/launch';
import type { Accepted, Listener, OnClient } from '../src/listen/listen';
import type { EngineLog } from '../src/log/log';

const PSEUDO = process.pid; // the pid the engine logs for connections that got no child

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
}

class FakeListener implements Listener {
  readonly ip = '127.0.0.1';
  readonly port = 2000;
  calls: unknown[][] = [];
  sendError: NodeJS.ErrnoException | null = null;
  private onClient: OnClient | undefined;
  private fd = 100;
  start(max: number, noDelay: boolean, onClient: OnClient): void {
    this.calls.push(['start', max, noDelay]);
    this.onClient = onClient;
  }
  client(remoteIp: string, remotePort = 40000): void {
    this.onClient!({ fd: this.fd++, v6: false, remoteIp, remotePort, localIp: '127.0.0.1', localPort: 2000 });
  }
  done(): void {
    this.calls.push(['done']);
  }
  sendNow(a: Accepted, data: string): NodeJS.ErrnoException | null {
    this.calls.push(['send', a.fd, data]);
    return this.sendError;
  }
  close(a: Accepted): void {
    this.calls.push(['close', a.fd]);
  }
}

/** Starts children with pids from 500 on (or fails as told); exit(i) ends the i-th launched. */
class FakeLauncher implements Launcher {
  readonly name = 'fake';
  specs: Array<Pick<LaunchSpec, 'argv' | 'env' | 'fd' | 'owned'> & { base: boolean }> = [];
  private exits: Array<(st: ExitStatus) => void> = [];
  private pids: number[] = [];
  constructor(private readonly fail?: NodeJS.ErrnoException) {}
  envBase(vars: string[]) {
    return { vars };
  }
  launch(spec: LaunchSpec, started: (err: NodeJS.ErrnoException | null, pid: number) => void,
         exited: (st: ExitStatus) => void): void {
    this.specs.push({ argv: spec.argv, env: spec.env, fd: spec.fd, owned: spec.owned, base: spec.base !== undefined });
    if (this.fail) return started(this.fail, 0);
    const pid = 500 + this.pids.length;
    this.pids.push(pid);
    this.exits.push(exited);
    started(null, pid);
  }
  exit(i: number, code: number | null, signal: number | null = null): void {
    this.exits[i]({ pid: this.pids[i], code, signal });
  }
}

/** Every call, with the facts that reach the log lines. */
function recordingLog(): EngineLog & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    connections: true,
    listening: (...a) => calls.push(['listening', ...a]),
    status: (active, max) => calls.push(['status', active, max]),
    from: (pid, ip) => calls.push(['from', pid, ip]),
    connection: (pid, c, verdict, conc, d) =>
      calls.push(['connection', pid, c.remoteIp, c.remoteHost ?? null, c.localHost ?? null, verdict, conc, d.matched ?? null]),
    rate: (pid, c, r) => calls.push(['rate', pid, c.remoteIp, r.key, r.count, r.seconds]),
    end: (st) => calls.push(['end', st.pid, st.code, st.signal]),
    cannotRun: (prog, err) => calls.push(['cannotRun', prog, (err as NodeJS.ErrnoException).code]),
    drop: (what, err) => calls.push(['drop', what, typeof err === 'string' ? err : err.code]),
    cannotReadRules: (path, err) => calls.push(['cannotReadRules', path, typeof err === 'string' ? err : err.code]),
    warn: (what, err) => calls.push(['warn', what, err === undefined || typeof err === 'string' ? err : err.code]),
    sigterm: () => calls.push(['sigterm']),
  };
}

function rulesOf(f: (ip: string) => Decision | Promise<Decision>): RuleSource {
  return { decide: (peer) => f(peer.ip) };
}

const allow = (extra: Partial<Decision> = {}): Decision => ({ action: 'allow', set: [], unset: [], ...extra });
const deny = (matched: string): Decision => ({ action: 'deny', set: [], unset: [], matched });

/** Names the client (remote and local) after a turn of the event loop, or fails as told. */
function fakeIdentifier(fail?: IdentifyFailure): Identifier {
  return {
    async identify(c) {
      await new Promise((r) => setImmediate(r));
      if (fail) return fail;
      c.remoteHost = 'client.example';
      c.localHost = 'server.example';
      return undefined;
    },
    addrs: async () => [],
  };
}

interface Row {
  name: string;
  cfg: Partial<EngineConfig>;
  launchError?: NodeJS.ErrnoException;
  sendError?: NodeJS.ErrnoException;
  /** Client addresses, delivered in order. */
  clients: string[];
  /** Children to end after all clients are in: [index launched, code, signal]. */
  exits?: Array<[number, number | null, number | null]>;
  /** Clients delivered after those exits. */
  then?: string[];
  log: unknown[][];
  launches: Array<{ argv: string[]; env: string[]; fd: number; owned: boolean; base: boolean }>;
  listener: unknown[][];
}

const PROG = ['/bin/prog', 'arg'];
const ENV = (fd: number, ip: string, ...more: string[]) => ({
  argv: PROG, fd, owned: true, base: true,
  env: ['PROTO=TCP', 'TCPLOCALIP=127.0.0.1', 'TCPLOCALPORT=2000', 'TCPLOCALHOST=l',
    `TCPREMOTEIP=${ip}`, 'TCPREMOTEPORT=40000', ...more],
});

const rows: Row[] = [
  {
    name: 'allowed, child exits 0',
    cfg: {},
    clients: ['10.0.0.1'],
    exits: [[0, 0, null]],
    log: [['status', 1, 5], ['connection', 500, '10.0.0.1', null, 'l', 'start', null, null],
      ['end', 500, 0, null], ['status', 0, 5]],
    launches: [ENV(100, '10.0.0.1')],
    listener: [['start', 5, false], ['done']],
  },
  {
    name: "children's exit statuses reach the log as reaped: code, and signal",
    cfg: {},
    clients: ['10.0.0.1', '10.0.0.2'],
    exits: [[1, 3, null], [0, null, 9]],
    log: [['status', 1, 5], ['connection', 500, '10.0.0.1', null, 'l', 'start', null, null],
      ['status', 2, 5], ['connection', 501, '10.0.0.2', null, 'l', 'start', null, null],
      ['end', 501, 3, null], ['status', 1, 5], ['end', 500, null, 9], ['status', 0, 5]],
    launches: [ENV(100, '10.0.0.1'), ENV(101, '10.0.0.2')],
    listener: [['start', 5, false], ['done'], ['done']],
  },
  {
    name: '-c: the listener gets the limit, and one done() per ended connection to resume',
    cfg: { max: 2 },
    clients: ['10.0.0.1', '10.0.0.2'],
    exits: [[0, 0, null]],
    log: [['status', 1, 2], ['connection', 500, '10.0.0.1', null, 'l', 'start', null, null],
      ['status', 2, 2], ['connection', 501, '10.0.0.2', null, 'l', 'start', null, null],
      ['end', 500, 0, null], ['status', 1, 2]],
    launches: [ENV(100, '10.0.0.1'), ENV(101, '10.0.0.2')],
    listener: [['start', 2, false], ['done']],
  },
  {
    name: 'denied by the rules: no launch, closed, ends as code 100',
    cfg: { rules: { source: rulesOf(() => deny('10.0.0.1')), path: 'rules.cdb', allowMissing: false } },
    clients: ['10.0.0.1'],
    log: [['status', 1, 5], ['connection', PSEUDO, '10.0.0.1', null, 'l', 'deny', null, '10.0.0.1'],
      ['end', PSEUDO, 100, null], ['status', 0, 5]],
    launches: [],
    listener: [['start', 5, false], ['close', 100], ['done']],
  },
  {
    name: 'rule variables go after the connection ones; a shell rule runs /bin/sh -c',
    cfg: { rules: { source: rulesOf(() => allow({ set: [['X', '1']], shell: 'echo hi', matched: 'k' })),
      path: 'rules.cdb', allowMissing: false } },
    clients: ['10.0.0.1'],
    exits: [[0, 0, null]],
    log: [['status', 1, 5], ['connection', 500, '10.0.0.1', null, 'l', 'exec', null, 'k'],
      ['end', 500, 0, null], ['status', 0, 5]],
    launches: [{ ...ENV(100, '10.0.0.1', 'X=1'), argv: ['/bin/sh', '-c', 'echo hi'] }],
    listener: [['start', 5, false], ['done']],
  },
  {
    name: 'rules unreadable (open failed): dropped, named, fail closed',
    cfg: { rules: { source: null, path: 'peers', openError: errno('EACCES', 'open'), allowMissing: false } },
    clients: ['10.0.0.1'],
    log: [['status', 1, 5], ['from', PSEUDO, '10.0.0.1'], ['cannotReadRules', 'peers', 'EACCES'],
      ['end', PSEUDO, 111, null], ['status', 0, 5]],
    launches: [],
    listener: [['start', 5, false], ['close', 100], ['done']],
  },
  {
    name: 'rules unreadable (decide throws): dropped',
    cfg: { rules: { source: rulesOf(() => { throw errno('EIO', 'read'); }), path: 'rules.cdb', allowMissing: false } },
    clients: ['10.0.0.1'],
    log: [['status', 1, 5], ['from', PSEUDO, '10.0.0.1'], ['cannotReadRules', 'rules.cdb', 'EIO'],
      ['end', PSEUDO, 111, null], ['status', 0, 5]],
    launches: [],
    listener: [['start', 5, false], ['close', 100], ['done']],
  },
  {
    name: 'tcpserver -X: a missing rules file allows',
    cfg: { rules: { source: rulesOf(() => Promise.reject(errno('ENOENT', 'open'))), path: 'rules.cdb', allowMissing: true } },
    clients: ['10.0.0.1'],
    exits: [[0, 0, null]],
    log: [['status', 1, 5], ['connection', 500, '10.0.0.1', null, 'l', 'start', null, null],
      ['end', 500, 0, null], ['status', 0, 5]],
    launches: [ENV(100, '10.0.0.1')],
    listener: [['start', 5, false], ['done']],
  },
  {
    name: 'launch failure: logged with the verdict, then cannot run, ends as 111',
    cfg: {},
    launchError: errno('ENOENT', 'spawn /bin/prog'),
    clients: ['10.0.0.1'],
    log: [['status', 1, 5], ['connection', PSEUDO, '10.0.0.1', null, 'l', 'start', null, null],
      ['cannotRun', '/bin/prog', 'ENOENT'], ['end', PSEUDO, 111, null], ['status', 0, 5]],
    launches: [ENV(100, '10.0.0.1')],
    listener: [['start', 5, false], ['done']],
  },
  {
    name: 'identify names the client; the names reach env and log',
    cfg: { localName: undefined, remoteHost: true, identify: fakeIdentifier() },
    clients: ['10.0.0.1'],
    exits: [[0, 0, null]],
    log: [['status', 1, 5],
      ['connection', 500, '10.0.0.1', 'client.example', 'server.example', 'start', null, null],
      ['end', 500, 0, null], ['status', 0, 5]],
    launches: [{ ...ENV(100, '10.0.0.1'), env: ['PROTO=TCP', 'TCPLOCALIP=127.0.0.1', 'TCPLOCALPORT=2000',
      'TCPLOCALHOST=server.example', 'TCPREMOTEIP=10.0.0.1', 'TCPREMOTEPORT=40000', 'TCPREMOTEHOST=client.example'] }],
    listener: [['start', 5, false], ['done']],
  },
  {
    name: 'identify failure: dropped before any verdict, ends as 111',
    cfg: { localName: undefined, identify: fakeIdentifier({ what: 'unable to look up local hostname', err: errno('ETIMEOUT', 'ptr') }) },
    clients: ['10.0.0.1'],
    log: [['status', 1, 5], ['from', PSEUDO, '10.0.0.1'], ['drop', 'unable to look up local hostname', 'ETIMEOUT'],
      ['end', PSEUDO, 111, null], ['status', 0, 5]],
    launches: [],
    listener: [['start', 5, false], ['close', 100], ['done']],
  },
  {
    name: 'per-host limit (-C 1:busy): the second client from one host is denied and told, the count released',
    cfg: { perHost: { limit: 1, msg: 'busy\n' } },
    clients: ['10.0.0.1', '10.0.0.1', '10.0.0.2'],
    exits: [[0, 0, null]],
    log: [['status', 1, 5], ['connection', 500, '10.0.0.1', null, 'l', 'start', [1, 1], null],
      ['status', 2, 5], ['connection', PSEUDO, '10.0.0.1', null, 'l', 'deny', [2, 1], null],
      ['end', PSEUDO, 100, null], ['status', 1, 5],
      ['status', 2, 5], ['connection', 501, '10.0.0.2', null, 'l', 'start', [1, 1], null],
      ['end', 500, 0, null], ['status', 1, 5]],
    launches: [ENV(100, '10.0.0.1', 'TCPCONCURRENCY=1'), ENV(102, '10.0.0.2', 'TCPCONCURRENCY=1')],
    listener: [['start', 5, false], ['send', 101, 'busy\n'], ['close', 101], ['done'], ['done']],
  },
  {
    name: "per-host: the rule's C overrides -C, its message too; an unsent message is warned about",
    cfg: { perHost: { limit: 5, msg: 'dflt' },
      rules: { source: rulesOf(() => allow({ perHost: { limit: 1, msg: 'rule msg' } })), path: 'p', allowMissing: false } },
    sendError: errno('EAGAIN', 'write'),
    clients: ['10.0.0.1', '10.0.0.1'],
    log: [['status', 1, 5], ['connection', 500, '10.0.0.1', null, 'l', 'start', [1, 1], null],
      ['status', 2, 5], ['warn', 'unable to write concurrency message', 'EAGAIN'],
      ['connection', PSEUDO, '10.0.0.1', null, 'l', 'deny', [2, 1], null],
      ['end', PSEUDO, 100, null], ['status', 1, 5]],
    launches: [ENV(100, '10.0.0.1', 'TCPCONCURRENCY=1')],
    listener: [['start', 5, false], ['send', 101, 'rule msg'], ['close', 101], ['done']],
  },
  {
    name: 'per-host: a released count lets the host in again',
    cfg: { perHost: { limit: 1 } },
    clients: ['10.0.0.1'],
    exits: [[0, 0, null]],
    then: ['10.0.0.1'],
    log: [['status', 1, 5], ['connection', 500, '10.0.0.1', null, 'l', 'start', [1, 1], null],
      ['end', 500, 0, null], ['status', 0, 5],
      ['status', 1, 5], ['connection', 501, '10.0.0.1', null, 'l', 'start', [1, 1], null]],
    launches: [ENV(100, '10.0.0.1', 'TCPCONCURRENCY=1'), ENV(101, '10.0.0.1', 'TCPCONCURRENCY=1')],
    listener: [['start', 5, false], ['done']],
  },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const listener = new FakeListener();
    listener.sendError = row.sendError ?? null;
    const launcher = new FakeLauncher(row.launchError);
    const log = recordingLog();
    const cfg: EngineConfig = {
      max: 5, prog: PROG, ucspiEnv: true, localName: 'l', remoteHost: false, paranoid: false, noDelay: false,
      identify: null, launcher, log, env: {}, ...row.cfg,
    };
    new Engine(cfg).serve(listener);
    const settle = () => new Promise((r) => setImmediate(r));
    for (const ip of row.clients) {
      listener.client(ip);
      await settle();
    }
    for (const [i, code, signal] of row.exits ?? []) {
      launcher.exit(i, code, signal);
      await settle();
    }
    for (const ip of row.then ?? []) {
      listener.client(ip);
      await settle();
    }
    t.same(log.calls, row.log, 'log calls');
    t.same(launcher.specs, row.launches, 'launcher calls');
    t.same(listener.calls, row.listener, 'listener calls');
  });
}
