// What both commands do after parsing: bind, drop privileges, then hand the
// listening socket to the engine. Fatal errors exit 111 with the caller's wording.
import { listen, type Listener } from '../listen/listen';
import { Engine, type EngineConfig } from './engine';
import type { Backend } from './backend';
import { setFlagsFromString } from 'node:v8';

// Every connection allocates a little garbage; left alone V8 grows the young
// generation to 32 MB under load, which is most of a server's RSS growth.
// Not growing it keeps RSS flat and costs no measurable throughput.
setFlagsFromString('--semi-space-growth-factor=1');

export interface ServeSpec {
  host: string;
  port: number;
  backlog: number;
  /** --socket-activation: serve this passed listening socket instead of binding host and port. */
  passedFd?: number;
  /** How a host name is looked up: ipsvd tries it as given before qualifying it (default ucspi-tcp). */
  lookup?: 'ucspi-tcp' | 'ipsvd';
  /** Runs between bind and the first accept (privilege drop, -1, start lines). */
  afterBind(l: Listener): void;
  fatal(what: string, e: NodeJS.ErrnoException): never;
  onTerm(): void;
}

/** The engine's configuration, with the path chosen at start (chooseBackend) in place of the launcher. */
export type ServeConfig = Omit<EngineConfig, 'launcher'> & { backend: Backend };

export async function serve(spec: ServeSpec, cfg: ServeConfig): Promise<Engine> {
  // SIGTERM: stop at once; running children keep their connections.
  // (SIGPIPE needs nothing: Node ignores it from the start.)
  process.on('SIGTERM', () => {
    spec.onTerm();
    process.exit(0);
  });
  let l: Listener;
  try {
    if (spec.passedFd !== undefined) {
      const { adopt } = require('../listen/activation') as typeof import('../listen/activation');
      l = await adopt(cfg.backend.addon, spec.passedFd);
    } else {
      l = await listen(spec.host, spec.port, spec.backlog, cfg.backend.open, spec.lookup);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // The host name's lookup (listen/resolve.ts): no address, or no answer.
    if (err.syscall === 'queryA') spec.fatal(err.code === 'ENOTFOUND' ? 'no address' : 'lookup', err);
    if (spec.passedFd !== undefined) spec.fatal('adopt', err);
    spec.fatal('bind', err);
  }
  spec.afterBind(l);
  // The pure-Node path cannot keep inherited descriptors from the children otherwise.
  const { backend, ...rest } = cfg;
  if (backend.launcher.name === 'spawn') (require('../launch/spawn') as typeof import('../launch/spawn')).closeInherited();
  const engine = new Engine({ ...rest, launcher: backend.launcher });
  engine.serve(l);
  return engine;
}
