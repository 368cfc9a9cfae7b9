// Who is the client: PTR names (optionally forward-confirmed) and RFC 1413
// ident, each only when asked for, and the local name unless -l gave it, as
// both originals look it up for every connection. A slow resolver delays
// only the connection that waits for it.

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

/** Why a connection must be dropped after identification (ipsvd: no local name). */
export interface IdentifyFailure {
  what: string;
  err: NodeJS.ErrnoException;
}

export interface Identifier {
  /** Fills in the names; resolves to a failure when the connection must be dropped. */
  identify(c: Subject, o: IdentifyOptions): Promise<IdentifyFailure | undefined>;
  addrs(name: string): Promise<string[]>;
}

export interface IdentifierOptions {
  /** A PTR lookup that got no answer at all (timeout, refused); tcpsvd warns. */
  onError?: (what: string, ip: string, e: NodeJS.ErrnoException) => void;
  /** tcpsvd: a local name that cannot be looked up drops the connection (ipsvd exits 111). */
  localFailureDrops?: boolean;
}

/** Whether identify() has anything to do for these options. */
export function needsIdentify(o: IdentifyOptions): boolean {
  return o.remoteHost || o.localName === undefined || o.identTimeoutMs !== undefined;
}

export function createIdentifier(opts: IdentifierOptions = {}): Identifier {
  // Loaded only by servers that look things up.
  const dns = require('./dns') as typeof import('../identify/dns');
  const { identLookup } = require('./ident') as typeof import('../identify/ident');
  const resolver = dns.createDns({});
  const identPort = process.env.UCSPI_IDENT_PORT ? Number(process.env.UCSPI_IDENT_PORT) : undefined;

  async function addrs(n: string): Promise<string[]> {
    return resolver.addrs(n);
  }

  async function remote(c: Subject, o: IdentifyOptions): Promise<void> {
    let n: string | undefined;
    try {
      n = await resolver.ptr(c.remoteIp);
    } catch (e) {
      opts.onError?.('unable to look up hostname', c.remoteIp, e as NodeJS.ErrnoException);
      return;
    }
    if (n !== undefined && o.paranoid) {
      // Only a plain name can be asked for; one with escaped bytes is never confirmed.
      let confirmed = false;
      try {
        confirmed = dns.validName(n) === n && (await addrs(n)).includes(c.remoteIp);
      } catch {
        confirmed = false;
      }
      if (!confirmed) return;
    }
    c.remoteHost = n;
  }

  async function local(c: Subject): Promise<IdentifyFailure | undefined> {
    try {
      c.localHost = await resolver.ptr(c.localIp);
    } catch (e) {
      if (opts.localFailureDrops) return { what: 'unable to look up local hostname', err: e as NodeJS.ErrnoException };
    }
    return undefined;
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
      const work: Promise<unknown>[] = [];
      if (o.remoteHost) work.push(remote(c, o));
      const loc = o.localName === undefined ? local(c) : undefined;
      if (o.identTimeoutMs !== undefined) work.push(info(c, o.identTimeoutMs));
      await Promise.all(work);
      return loc && (await loc);
    },
    addrs,
  };
}
