// sslserver: the acceptance points of the TLS front door (openssl s_client:
// TLS 1.3 and the SSL* variables; SNI by CERTFILE:name; a certificate
// replaced on disk served from the next handshake by the same process) and
// what the program gets (its environment and descriptors: never the key).
import t from 'tap';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { launchers, parseEnv, startServer } from './helpers/net';
import { ROOT, asRoot, ours, scratch } from './helpers/common';
import { OPENSSL, type Ca, makeCa, makeCert, sClient, tlsTalk } from './helpers/tls';

const SSLSERVER = ours('sslserver');
const BUNDLE = path.join(ROOT, 'dist', 'cmd', 'sslserver.js');
const tmp = scratch('tls-sslserver');
const noOpenssl = OPENSSL ? false : 'openssl not installed (package openssl)';

let ca: Ca;
let srvCert: { cert: string; key: string };
t.before(() => {
  if (!OPENSSL) return;
  ca = makeCa(tmp('ca'));
  srvCert = makeCert(ca, 'server', '/C=DE/O=Default/CN=default.example', ['default.example']);
});

const base = { PATH: '/usr/bin:/bin' };

for (const l of launchers()) {
  t.test(`launcher ${l.name}`, { skip: l.skip || noOpenssl }, async (t) => {
    const L = { UCSPI_LAUNCHER: l.name };

    t.test('s_client: TLS 1.3; SSL_PROTOCOL, SSL_CIPHER and the client\'s address reach prog', async (t) => {
      const srv = await startServer(SSLSERVER, ['-s', '-HRl0', '127.0.0.1', '0', 'env'],
        { ...base, ...L, CERTFILE: srvCert.cert, KEYFILE: srvCert.key, SSLREMOTEIP: 'stale', SSL_CIPHER: 'stale' });
      try {
        const r = await sClient(srv.port, ['-ign_eof'], '');
        t.match(r.err, /Protocol version: TLSv1\.3/);
        const e = parseEnv(r.out);
        t.equal(e.PROTO, 'SSL');
        t.equal(e.SSL_PROTOCOL, 'TLSv1.3');
        t.match(e.SSL_CIPHER, /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
        t.match(r.err, new RegExp(`Ciphersuite: ${e.SSL_CIPHER}`), 'the cipher the client saw');
        t.equal(e.SSLREMOTEIP, '127.0.0.1');
        t.match(e.SSLREMOTEPORT, /^\d+$/);
        t.equal(e.SSLLOCALIP, '127.0.0.1');
        t.equal(e.SSLLOCALPORT, String(srv.port));
        t.equal(e.SSLLOCALHOST, '0');
        t.equal(e.TCPREMOTEIP, undefined, 'no TCP* without -e');
        t.match(e.SSL_CIPHER_USEKEYSIZE, /^(128|256)$/);
      } finally {
        await srv.stop();
      }
    });

    t.test('-e: TCP* as well, PROTO=TCP; without -s no SSL_* set (a stale one of the server stays out)', async (t) => {
      const srv = await startServer(SSLSERVER, ['-e', '-HRl0', '127.0.0.1', '0', 'env'],
        { ...base, ...L, CERTFILE: srvCert.cert, KEYFILE: srvCert.key, TCPREMOTEIP: 'stale' });
      try {
        const r = await tlsTalk(srv.port);
        const e = parseEnv(r.data);
        t.equal(e.PROTO, 'TCP');
        t.equal(e.TCPREMOTEIP, '127.0.0.1');
        t.equal(e.SSLREMOTEIP, '127.0.0.1');
        t.equal(e.SSL_PROTOCOL, undefined);
      } finally {
        await srv.stop();
      }
    });

    t.test('the key never reaches prog: not in its environment, not among its descriptors', async (t) => {
      const key = readFileSync(srvCert.key, 'utf8');
      const keyBody = key.split('\n')[1];
      const srv = await startServer(SSLSERVER, ['-s', '-HRl0', '127.0.0.1', '0', 'sh', '-c',
        'env; echo FDS; exec ls -l /proc/self/fd'], { ...base, ...L, CERTFILE: srvCert.cert, KEYFILE: srvCert.key });
      try {
        const r = await tlsTalk(srv.port);
        t.notOk(r.data.includes(keyBody), 'no key bytes in the environment');
        const fds = r.data.slice(r.data.indexOf('FDS')).split('\n').filter((x) => / \d+ -> /.test(x))
          .map((x) => Number(/ (\d+) -> /.exec(x)![1]));
        // 0 and 1: the socket pair's end; 2: stderr; 3: ls's own directory.
        t.same(fds.sort(), [0, 1, 2, 3]);
        t.notOk(/\.key$/m.test(r.data.slice(r.data.indexOf('FDS'))), 'no key file open');
      } finally {
        await srv.stop();
      }
    });

    t.test('SNI: -servername picks CERTFILE:name (or --sni), a wildcard name, else the default pair', async (t) => {
      const a = makeCert(ca, 'a', '/CN=a.example', ['a.example']);
      const w = makeCert(ca, 'w', '/CN=wild.example', ['*.wild.example']);
      const env = { ...base, ...L, CERTFILE: srvCert.cert, KEYFILE: srvCert.key };
      // CERTFILE:name reaches Node through bin/'s compiled launcher; the sh
      // form of bin/ (no addon built) drops such names, as dash does: then
      // the bundle run by Node itself.
      const compiled = readFileSync(SSLSERVER).subarray(0, 4).toString('latin1') === '\x7fELF';
      const direct = await startServer(compiled ? SSLSERVER : process.execPath, [
        ...(compiled ? [] : ['-e', `require(${JSON.stringify(BUNDLE)}).main(process.argv.slice(1))`, '--']),
        '-HRl0', '127.0.0.1', '0', 'echo', 'hi'], {
        ...env, 'CERTFILE:a.example': a.cert, 'KEYFILE:a.example': a.key,
        'CERTFILE:*.wild.example': w.cert, 'KEYFILE:*.wild.example': w.key,
      });
      const opts = await startServer(SSLSERVER, [`--sni=a.example=${a.cert},${a.key}`, `--sni=*.wild.example=${w.cert},${w.key}`,
        '-HRl0', '127.0.0.1', '0', 'echo', 'hi'], env);
      try {
        for (const srv of [direct, opts]) {
          const r = await sClient(srv.port, ['-ign_eof', '-servername', 'a.example'], '');
          t.match(r.err, /Peer certificate: CN ?= ?a\.example/);
          t.equal(r.out, 'hi\n');
          t.equal((await tlsTalk(srv.port, { servername: 'A.Example' })).cn, 'a.example', 'without case');
          t.equal((await tlsTalk(srv.port, { servername: 'x.wild.example' })).cn, 'wild.example', 'one label under the wildcard');
          t.equal((await tlsTalk(srv.port, { servername: 'y.x.wild.example' })).cn, 'default.example', 'two labels: the default');
          t.equal((await tlsTalk(srv.port, { servername: 'other.example' })).cn, 'default.example');
          const none = await sClient(srv.port, ['-ign_eof', '-noservername'], '');
          t.match(none.err, /Peer certificate: C ?= ?DE, O ?= ?Default, CN ?= ?default\.example/, 'no SNI: the default');
        }
      } finally {
        await direct.stop();
        await opts.stop();
      }
    });

    t.test('a certificate replaced on disk is served from the next handshake, same process; a broken renewal keeps the old pair', async (t) => {
      const dir = tmp('renew');
      const one = makeCert(ca, 'one', '/CN=one.example', ['one.example']);
      const two = makeCert(ca, 'two', '/CN=two.example', ['two.example']);
      const three = makeCert(ca, 'three', '/CN=three.example', ['three.example']);
      const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
      copyFileSync(one.cert, cert);
      copyFileSync(one.key, key);
      const srv = await startServer(SSLSERVER, ['-HRl0', '127.0.0.1', '0', 'echo', 'hi'],
        { ...base, ...L, CERTFILE: cert, KEYFILE: key });
      try {
        t.equal((await tlsTalk(srv.port)).cn, 'one.example');
        const pid = srv.proc.pid;
        // certbot's way: new files renamed into place, key first.
        writeFileSync(key + '.new', readFileSync(two.key));
        renameSync(key + '.new', key);
        writeFileSync(cert + '.new', readFileSync(two.cert));
        renameSync(cert + '.new', cert);
        const r = await tlsTalk(srv.port);
        t.equal(r.cn, 'two.example');
        t.equal(r.data, 'hi\n');
        t.equal(srv.proc.pid, pid);
        t.equal(srv.proc.exitCode, null, 'still running');
        // A renewal that went wrong: a certificate whose key is not the one on disk.
        writeFileSync(cert, readFileSync(three.cert));
        t.equal((await tlsTalk(srv.port)).cn, 'two.example', 'the pair in use stays');
        t.equal((await tlsTalk(srv.port)).cn, 'two.example');
        await srv.waitLog(/sslserver: warning: keeping the certificates in use: unable to use the certificates/);
        t.equal(srv.stderr().match(/keeping the certificates in use/g)!.length, 1, 'logged once');
        writeFileSync(key, readFileSync(three.key));
        t.equal((await tlsTalk(srv.port)).cn, 'three.example', 'fixed: the new pair');
      } finally {
        await srv.stop();
      }
    });
  });
}

t.test('--alpn: the server\'s order decides, the choice reaches prog as SSL_ALPN_PROTOCOL; no common protocol, no program', { skip: noOpenssl }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-s', '--alpn=h2,http/1.1', '-HRl0', '127.0.0.1', '0', 'sh', '-c', 'echo "[$SSL_ALPN_PROTOCOL]"'],
    { ...base, CERTFILE: srvCert.cert, KEYFILE: srvCert.key });
  try {
    let r = await tlsTalk(srv.port, { ALPNProtocols: ['http/1.1', 'h2'] });
    t.equal(r.alpn, 'h2');
    t.equal(r.data, '[h2]\n');
    r = await tlsTalk(srv.port, { ALPNProtocols: ['http/1.1'] });
    t.equal(r.data, '[http/1.1]\n');
    const s = await sClient(srv.port, ['-ign_eof', '-alpn', 'http/1.1'], '');
    t.equal(s.out, '[http/1.1]\n', 's_client');
    r = await tlsTalk(srv.port);
    t.equal(r.data, '[]\n', 'a client without ALPN: served, no protocol');
    r = await tlsTalk(srv.port, { ALPNProtocols: ['imap'] });
    t.equal(r.data, '', 'nothing in common: no program');
    t.not(r.error, '');
  } finally {
    await srv.stop();
  }
  const { spawnSync } = await import('node:child_process');
  const bad = spawnSync(SSLSERVER, ['--alpn=h2,,x', '127.0.0.1', '0', 'true'], { encoding: 'utf8', timeout: 20_000 });
  t.equal(bad.status, 100);
});

t.test('-x: the client certificate in the rules, by fingerprint or (verified) subject, after the address rule', { skip: noOpenssl }, async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { createHash, X509Certificate } = await import('node:crypto');
  const alice = makeCert(ca, 'alice', '/O=Clients/CN=alice', [], true);
  const bob = makeCert(ca, 'bob', '/O=Clients/CN=bob', [], true);
  const carol = makeCert(ca, 'carol', '/O=Clients/CN=carol', [], true);
  const selfCa = makeCa(tmp('self'), 'Self');
  const fakeBob = makeCert(selfCa, 'fakebob', '/O=Clients/CN=bob', [], true);
  const fp = (f: string) => createHash('sha256').update(new X509Certificate(readFileSync(f)).raw).digest('hex');
  const dir = tmp('rules');
  const cdb = path.join(dir, 'rules.cdb');
  const text = `%sha256=${fp(alice.cert)}:deny\n%subject=/O=Clients/CN=bob:allow,WHO="bob"\n` +
    `%sha256=${fp(fakeBob.cert)}:allow,PINNED="yes"\n127.0.0.1:allow,IPVAR="x",WHO="nobody"\n`;
  const r = spawnSync(ours('tcprules'), [cdb, cdb + '.tmp'], { input: text, timeout: 20_000 });
  t.equal(r.status, 0, 'tcprules takes the keys');
  const key = (c: { cert: string; key: string }) => ({ cert: readFileSync(c.cert), key: readFileSync(c.key) });
  const marker = path.join(tmp('marker'), 'started');
  for (const [mode, env] of [['-m', { CAFILE: ca.cert }], ['CCAFILE', { CCAFILE: ca.cert }]] as const) {
    const srv = await startServer(SSLSERVER, [...(mode === '-m' ? ['-m'] : []), '-v', '-x', cdb, '-HRl0', '127.0.0.1', '0', 'sh', '-c',
      `echo x >> ${marker}; echo "$IPVAR $WHO $PINNED"`], { ...base, CERTFILE: srvCert.cert, KEYFILE: srvCert.key, ...env });
    try {
      t.equal((await tlsTalk(srv.port, key(bob))).data, 'x bob \n', `${mode}: bob by his subject, over the address rule`);
      t.equal((await tlsTalk(srv.port, key(carol))).data, 'x nobody \n', `${mode}: carol: the address rule`);
      t.equal((await tlsTalk(srv.port, key(alice))).data, '', `${mode}: alice denied by her fingerprint`);
      await srv.waitLog(/sslserver: deny \d+ /);
      if (mode === 'CCAFILE') {
        t.equal((await tlsTalk(srv.port, key(fakeBob))).data, 'x nobody yes\n', 'a self-made "bob": not by the subject, by its own fingerprint');
        t.equal((await tlsTalk(srv.port)).data, 'x nobody \n', 'no certificate: the address rule');
      }
    } finally {
      await srv.stop();
    }
  }
});

t.test('tcpsvd --tls: ipsvd\'s variables, and sslserver\'s SSL* and SSL_* ones; -E: none', { skip: noOpenssl }, async (t) => {
  const a = makeCert(ca, 'svd-a', '/CN=svd-a.example', ['svd-a.example']);
  for (const [flags, want] of [[[], true], [['-E'], false]] as const) {
    const srv = await startServer(ours('tcpsvd'), [...flags, '--tls', `--tls-sni=svd-a.example=${a.cert},${a.key}`, '--tls-alpn=imap',
      '127.0.0.1', '0', 'env'], { ...base, CERTFILE: srvCert.cert, KEYFILE: srvCert.key, SSL_PROTOCOL: 'stale' });
    try {
      const r = await tlsTalk(srv.port, { servername: 'svd-a.example', ALPNProtocols: ['imap'] });
      t.equal(r.cn, 'svd-a.example');
      t.equal(r.protocol, 'TLSv1.3');
      const e = parseEnv(r.data);
      if (want) {
        t.equal(e.PROTO, 'TCP');
        t.equal(e.TCPREMOTEIP, '127.0.0.1');
        t.equal(e.SSLREMOTEIP, '127.0.0.1');
        t.equal(e.SSL_PROTOCOL, 'TLSv1.3');
        t.equal(e.SSL_ALPN_PROTOCOL, 'imap');
        t.equal(e.SSL_TLS_SNI_SERVERNAME, 'svd-a.example');
      } else {
        t.equal(e.TCPREMOTEIP, undefined);
        t.equal(e.SSLREMOTEIP, undefined);
        t.equal(e.SSL_ALPN_PROTOCOL, undefined);
      }
    } finally {
      await srv.stop();
    }
  }
});

t.test('-u: the key (root\'s, mode 0600) is read before privileges are dropped; a renewal it cannot read keeps the pair, logged once', { ...asRoot({ skip: noOpenssl }) }, async (t) => {
  const { chmodSync, chownSync } = await import('node:fs');
  const dir = tmp('root');
  chmodSync(dir, 0o755);
  const one = makeCert(ca, 'root-one', '/CN=root-one.example', ['root-one.example']);
  const two = makeCert(ca, 'root-two', '/CN=root-two.example', ['root-two.example']);
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  copyFileSync(one.cert, cert);
  copyFileSync(one.key, key);
  chmodSync(cert, 0o644);
  chmodSync(key, 0o600);
  chownSync(key, 0, 0);
  const srv = await startServer(SSLSERVER, ['-u', '65534', '-g', '65534', '-HRl0', '127.0.0.1', '0', 'sh', '-c', 'id -u; cat ' + key],
    { ...base, CERTFILE: cert, KEYFILE: key });
  try {
    const r = await tlsTalk(srv.port);
    t.equal(r.cn, 'root-one.example');
    t.match(r.data, /^65534\n/, 'the program runs as the user');
    t.notOk(r.data.includes('PRIVATE KEY'), 'and cannot read the key');
    writeFileSync(key + '.new', readFileSync(two.key), { mode: 0o600 });
    renameSync(key + '.new', key);
    writeFileSync(cert + '.new', readFileSync(two.cert), { mode: 0o644 });
    renameSync(cert + '.new', cert);
    t.equal((await tlsTalk(srv.port)).cn, 'root-one.example', 'unreadable now: the pair in use stays');
    t.equal((await tlsTalk(srv.port)).cn, 'root-one.example');
    await srv.waitLog(/sslserver: warning: keeping the certificates in use: unable to read .*: EACCES/);
    t.equal(srv.stderr().match(/keeping the certificates in use/g)!.length, 1, 'logged once');
  } finally {
    await srv.stop();
  }
});

t.test('bad configuration: a clear message, exit 111', { skip: noOpenssl }, async (t) => {
  const { spawnSync } = await import('node:child_process');
  const run = (env: NodeJS.ProcessEnv) => spawnSync(SSLSERVER, ['127.0.0.1', '0', 'true'], { env: { ...base, ...env }, encoding: 'utf8', timeout: 20_000 });
  let r = run({});
  t.equal(r.status, 111);
  t.match(r.stderr, /sslserver: fatal: no certificate: set CERTFILE/);
  r = run({ CERTFILE: '/nonexistent/c.pem' });
  t.equal(r.status, 111);
  t.match(r.stderr, /sslserver: fatal: unable to read certificate \/nonexistent\/c\.pem/);
  const other = makeCert(ca, 'other', '/CN=other.example');
  r = run({ CERTFILE: srvCert.cert, KEYFILE: other.key });
  t.equal(r.status, 111);
  t.match(r.stderr, /sslserver: fatal: unable to use the certificates/);
});
