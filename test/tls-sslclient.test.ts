// sslclient (ucspi-ssl's client) against sslserver and Node's own TLS
// server: the program on descriptors 6 and 7, its exit code, the
// environment, the server's certificate verified (-a, -x/-X, -n/-N).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { parseEnv, startServer } from './helpers/net';
import { ours, scratch } from './helpers/common';
import { OPENSSL, type Ca, makeCa, makeCert, runTool } from './helpers/tls';

const SSLSERVER = ours('sslserver');
const SSLCLIENT = ours('sslclient');
const tmp = scratch('tls-sslclient');
const skip = OPENSSL ? false : 'openssl not installed (package openssl)';

let ca: Ca;
let pair: { cert: string; key: string };
t.before(() => {
  if (skip) return;
  ca = makeCa(tmp('ca'));
  pair = makeCert(ca, 'server', '/CN=server.example', ['server.example']);
});

const base = { PATH: '/usr/bin:/bin' };

t.test('the program talks plaintext on 6 and 7; its exit code is sslclient\'s', { skip }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-HRl0', '127.0.0.1', '0', 'sh', '-c', 'read l; echo "server got $l $SSLREMOTEIP"'],
    { ...base, CERTFILE: pair.cert, KEYFILE: pair.key });
  try {
    const r = await runTool(SSLCLIENT, ['-N', '-s', '-a', ca.cert, '127.0.0.1', String(srv.port), 'sh', '-c',
      'echo hello >&7; read x <&6; echo "$x"; env; exit 7'], '');
    t.equal(r.code, 7, 'the program\'s exit code');
    const [first, ...rest] = r.out.split('\n');
    t.equal(first, 'server got hello 127.0.0.1');
    const e = parseEnv(rest.join('\n'));
    t.equal(e.PROTO, 'SSL');
    t.equal(e.SSLREMOTEIP, '127.0.0.1');
    t.equal(e.SSLREMOTEPORT, String(srv.port));
    t.equal(e.SSLLOCALIP, '127.0.0.1');
    t.equal(e.SSL_PROTOCOL, 'TLSv1.3');
    t.equal(e.SSL_SERVER_S_DN, '/CN=server.example');
    t.equal(e.SSL_SERVER_I_DN, '/CN=Test CA');
    // The program's end of file first: the server's answer still comes.
    const r2 = await runTool(SSLCLIENT, ['-N', '-a', ca.cert, '127.0.0.1', String(srv.port), 'sh', '-c', 'exec 7>&-; cat <&6'], '');
    t.equal(r2.out, 'server got  127.0.0.1\n');
    t.equal(r2.code, 0);
  } finally {
    await srv.stop();
  }
});

t.test('the server\'s certificate: verified against -a, its name against host; -X and -N turn each off', { skip }, async (t) => {
  const server = tls.createServer({ cert: readFileSync(pair.cert), key: readFileSync(pair.key) }, (s) => s.end('hi\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = String((server.address() as import('node:net').AddressInfo).port);
  try {
    const cat = ['sh', '-c', 'cat <&6'];
    let r = await runTool(SSLCLIENT, ['127.0.0.1', port, ...cat], '');
    t.equal(r.code, 111, 'a CA not known: exit 111');
    t.match(r.err, /sslclient: fatal: unable to verify server certificate/);
    r = await runTool(SSLCLIENT, ['-a', ca.cert, '127.0.0.1', port, ...cat], '');
    t.equal(r.code, 111);
    t.match(r.err, /sslclient: fatal: certificate name does not match server hostname: 127\.0\.0\.1/);
    r = await runTool(SSLCLIENT, ['-a', ca.cert, '-N', '127.0.0.1', port, ...cat], '');
    t.equal(r.out, 'hi\n', '-N: no name check');
    r = await runTool(SSLCLIENT, ['-X', '127.0.0.1', port, ...cat], '');
    t.equal(r.out, 'hi\n', '-X: no verification');
  } finally {
    server.close();
  }
  const usage = spawnSync(SSLCLIENT, ['127.0.0.1'], { encoding: 'utf8', timeout: 20_000 });
  t.equal(usage.status, 100);
  t.match(usage.stderr, /sslclient: usage: sslclient/);
});
