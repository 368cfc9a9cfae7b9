// tcpserver's one-letter options (ucspi-tcp 0.88, with ucspi-tcp6's -4 and
// -6), shared by the commands that take them: tcpserver and sslserver
// (ucspi-ssl's sslserver takes tcpserver's letters and adds its own).
import { decimalArg } from '../lib/getopt';

export interface TcpserverLetters {
  verbosity: number;
  limit: number;
  backlog: number;
  rules?: string;
  allowNoRules: boolean;
  banner: string;
  uid: number;
  gid: number;
  localName?: string;
  timeout: number;
  remoteHost: boolean;
  remoteInfo: boolean;
  paranoid: boolean;
  noDelay: boolean;
  printPort: boolean;
  /** -6: host 0 listens on IPv6 and IPv4 together (dual stack); -4 (the default): IPv4 only. */
  dual: boolean;
}

/** The defaults of ucspi-tcp 0.88's tcpserver. */
export function tcpserverDefaults(): TcpserverLetters {
  return {
    verbosity: 1, limit: 40, backlog: 20, allowNoRules: false, banner: '', uid: 0, gid: 0,
    timeout: 26, remoteHost: true, remoteInfo: false, paranoid: false, noDelay: false,
    printPort: false, dual: false,
  };
}

/** The optstring of those letters, for getopt. */
export const TCPSERVER_LETTERS = '146UXpPhHrRoOdDqQvc:x:B:g:u:b:l:t:';

/** One of tcpserver's letters into o: false for a letter that is not one of them. -U reads $UID and $GID from env. */
export function tcpserverLetter(o: TcpserverLetters, ch: string, v: string, env: NodeJS.ProcessEnv): boolean {
  switch (ch) {
    case '1': o.printPort = true; break;
    case '4': o.dual = false; break;
    case '6': o.dual = true; break;
    case 'U':
      if (env.UID !== undefined) o.uid = decimalArg(env.UID);
      if (env.GID !== undefined) o.gid = decimalArg(env.GID);
      break;
    case 'X': o.allowNoRules = true; break;
    case 'p': o.paranoid = true; break;
    case 'P': o.paranoid = false; break;
    case 'h': o.remoteHost = true; break;
    case 'H': o.remoteHost = false; break;
    case 'r': o.remoteInfo = true; break;
    case 'R': o.remoteInfo = false; break;
    case 'o': case 'O': break; // IP options: Node gives no access to IP_OPTIONS (see the man page)
    case 'd': o.noDelay = false; break;
    case 'D': o.noDelay = true; break;
    case 'q': o.verbosity = 0; break;
    case 'Q': o.verbosity = 1; break;
    case 'v': o.verbosity = 2; break;
    case 'c': o.limit = decimalArg(v); break;
    case 'x': o.rules = v; break;
    case 'B': o.banner = v; break;
    case 'g': o.gid = decimalArg(v); break;
    case 'u': o.uid = decimalArg(v); break;
    case 'b': o.backlog = decimalArg(v); break;
    case 'l': o.localName = v; break;
    case 't': o.timeout = decimalArg(v); break;
    default: return false;
  }
  return true;
}
