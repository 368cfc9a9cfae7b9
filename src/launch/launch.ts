// The launch step: start prog with the client socket as its fd 0 and fd 1.
// One interface, several implementations (native posix_spawn, child_process),
// so the engine never knows which one runs.

export interface LaunchSpec {
  /** argv[0] is looked up in $PATH of the server as execvp(3) does when it has no '/'. */
  argv: string[];
  /**
   * The child's environment as "NAME=value" byte strings (one char per byte,
   * latin1: see lib/bytes.ts): base's variables first, then these (no name in both).
   */
  env: string[];
  /** Variables shared by many children, made once by the launcher's envBase(). */
  base?: EnvBase;
  /** The connected socket; it becomes the child's fd 0 and fd 1. fd 2 is the server's stderr. */
  fd: number;
  /** The launcher closes fd once the child has it, or when no child could be started. */
  owned: boolean;
  /**
   * started() of a success may come late, with the next batch of events (at
   * the latest with exited()): the caller logs nothing at start. Saves a
   * wake-up of the event loop per child.
   */
  lazyStart?: boolean;
  /**
   * inetd's programs (the native launcher only; the child_process one
   * refuses a spec with any of these): the file executed, as given, not
   * searched (argv[0] is then only the name the program is given) ...
   */
  path?: string;
  /** ... the socket as fd 2 as well ... */
  socketOn2?: boolean;
  /** ... a session of its own (setsid) ... */
  session?: boolean;
  /** ... this user (setuid) ... */
  uid?: number;
  /** ... and these groups (setgroups; gids[0] also setgid). */
  gids?: readonly number[];
}

/** How a child ended, as waitpid(2) reports it. */
export interface ExitStatus {
  pid: number;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal number, or null when it exited. */
  signal: number | null;
}

/** An environment prefix prepared once (the native launcher keeps its copy outside V8). */
export interface EnvBase {
  readonly vars: readonly string[];
}

export interface Launcher {
  readonly name: string;
  envBase(vars: string[]): EnvBase;
  /**
   * Start a child. started(err, pid) is called once; on success the caller may close
   * its own copy of the socket. exited() is called once when the child is reaped.
   */
  launch(spec: LaunchSpec, started: (err: NodeJS.ErrnoException | null, pid: number) => void,
         exited: (status: ExitStatus) => void): void;
}
