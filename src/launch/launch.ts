// The launch step: start prog with the client socket as its fd 0 (and 1, and
// 2, as the server needs). One description, one interface, two
// implementations (native posix_spawn, child_process), so a server never
// knows which one runs.

/** Where one of the child's fds 1 and 2 comes from: the socket, or the server's own stderr. */
export type FdFrom = 'socket' | 'stderr';

/** The child's fds 0, 1 and 2; fd 0 is always the socket. */
export type Stdio = readonly ['socket', FdFrom, FdFrom];

/** tcpsvd's and tcpserver's (the default): the socket as fds 0 and 1, the server's stderr as fd 2. */
export const TCP_STDIO: Stdio = ['socket', 'socket', 'stderr'];
/** udpsvd's: the socket as fd 0 only, the server's stderr as fds 1 and 2 (as ipsvd's udpsvd). */
export const UDP_STDIO: Stdio = ['socket', 'stderr', 'stderr'];
/** inetd's: the socket as fds 0, 1 and 2 (as openbsd-inetd, stream and datagram lines). */
export const INETD_STDIO: Stdio = ['socket', 'socket', 'socket'];

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
  /** The socket: the child's fd 0, and fds 1 and 2 as stdio says. */
  fd: number;
  /** The child's fds 0, 1 and 2 (TCP_STDIO when not given). */
  stdio?: Stdio;
  /** The launcher closes fd once the child has it, or when no child could be started. */
  owned: boolean;
  /**
   * started() of a success may come late, with the next batch of events (at
   * the latest with exited()): the caller logs nothing at start. Saves a
   * wake-up of the event loop per child.
   */
  lazyStart?: boolean;
  /**
   * inetd's programs: the file executed, as given, not searched (argv[0] is
   * then only the name the program is given) ...
   */
  path?: string;
  /** ... a session of its own (setsid) ... */
  session?: boolean;
  /** ... this user (setuid) ... */
  uid?: number;
  /**
   * ... and these groups (setgroups; gids[0] also setgid). The child_process
   * launcher can set gids[0] only: Node clears the supplementary groups
   * whenever it changes the uid or gid.
   */
  gids?: readonly number[];
  /**
   * unixserver: env[pidVar] is "NAME=" and the child finds its own pid
   * there (UNIXLOCALPID, the pid of prog itself, which no launcher knows
   * before the child exists).
   */
  pidVar?: number;
  /** unixserver: HUP, PIPE and ALRM ignored in the child, as ucspi-unix leaves them for its programs. */
  ignoreHupPipeAlrm?: boolean;
  /**
   * fd -1: the client is only this socket (net.Server's UNIX-domain path,
   * which has no public descriptor); child_process hands it to the child.
   */
  socket?: import('node:net').Socket;
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
