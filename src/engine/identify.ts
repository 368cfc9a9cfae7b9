// Who is the client: PTR names (validated, optionally forward-confirmed) and
// RFC 1413 ident, each only when asked for. A slow resolver delays only the
// connection that waits for it.

export interface Subject {
  v6: boolean;
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
  localHost: string | undefined;
  remoteHost: string | undefined;
  remoteInfo: string | undefined;
}

export interface IdentifyOptions {
  remoteHost: boolean;
  paranoid: boolean;
  localName?: string;
  identTimeoutMs?: number;
}

export interface Identifier {
  identify(c: Subject, o: IdentifyOptions): Promise<void>;
  addrs(name: string): Promise<string[]>;
  /** Called with lookup failures other than "no such name". */
  onError?: (what: string, ip: string, e: unknown) => void;
}

export function createIdentifier(onError?: Identifier['onError']): Identifier {
  // Loaded only by servers that look things up.
  const dns = require('../identify/dns') as typeof import('../identify/dns');
  const { identLookup } = require('../identify/ident') as typeof import('../identify/ident');
  const resolver = dns.createDns({});
  const identPort = process.env.UCSPI_IDENT_PORT ? Number(process.env.UCSPI_IDENT_PORT) : undefined;

  async function name(ip: string): Promise<string | undefined> {
    try {
      const n = await resolver.ptr(ip);
      // validName lower-cases, and refuses names that could pose as addresses or paths.
      return n === undefined ? undefined : dns.validName(n);
    } catch (e) {
      onError?.('unable to look up hostname', ip, e);
      return undefined;
    }
  }

  async function addrs(n: string): Promise<string[]> {
    return resolver.addrs(n);
  }

  async function remote(c: Subject, o: IdentifyOptions): Promise<void> {
    const n = await name(c.remoteIp);
    if (n !== undefined && o.paranoid) {
      let confirmed = false;
      try {
        confirmed = (await addrs(n)).includes(c.remoteIp);
      } catch {
        confirmed = false;
      }
      if (!confirmed) return;
    }
    c.remoteHost = n;
  }

  async function info(c: Subject, ms: number): Promise<void> {
    try {
      c.remoteInfo = await identLookup(
        { ip: c.localIp, port: c.localPort }, { ip: c.remoteIp, port: c.remotePort }, ms, identPort);
    } catch {
      // no answer: TCPREMOTEINFO stays unset
    }
  }

  return {
    async identify(c, o) {
      const work: Promise<void>[] = [];
      if (o.remoteHost) {
        work.push(remote(c, o));
        if (o.localName === undefined) work.push(name(c.localIp).then((n) => { c.localHost = n; }));
      }
      if (o.identTimeoutMs !== undefined) work.push(info(c, o.identTimeoutMs));
      await Promise.all(work);
    },
    addrs,
    onError,
  };
}
