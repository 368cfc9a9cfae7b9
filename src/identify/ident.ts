// RFC 1413 client: ask the client's identd which user owns the connection.
// The answer is from the client's side, so it is read with a size cap, parsed
// strictly and given up on at the deadline.
import * as net from 'node:net';

const MAX_ANSWER = 1000; // RFC 1413 lines are short; stop reading beyond this

export function identLookup(local: { ip: string; port: number }, remote: { ip: string; port: number },
                            timeoutMs: number, identPort = 113): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    const finish = (v: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    // From the address the client connected to, so its identd sees the pair it knows.
    const sock = net.connect({ host: remote.ip, port: identPort, localAddress: local.ip });
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(`${remote.port} , ${local.port}\r\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) return finish(parseIdent(buf.slice(0, nl), remote.port, local.port));
      if (buf.length > MAX_ANSWER) finish(undefined);
    });
    sock.on('end', () => finish(parseIdent(buf, remote.port, local.port)));
    sock.on('error', () => finish(undefined));
  });
}

/**
 * "rport , lport : USERID : os[,charset] : user" → user, when the ports are
 * the ones asked about; ERROR replies and anything else → undefined. The user
 * may contain ':' (it runs to the end of the line); a CR before the LF and the
 * blanks around fields are dropped.
 */
export function parseIdent(line: string, rport: number, lport: number): string | undefined {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*:\s*USERID\s*:[^:]*:(.*)$/.exec(line.replace(/\r$/, ''));
  if (!m || Number(m[1]) !== rport || Number(m[2]) !== lport) return undefined;
  const user = m[3].replace(/^[ \t]+/, '').replace(/\s+$/, '');
  if (user === '' || /[\0\r\n]/.test(user)) return undefined;
  return user;
}
