// ucspi-tcp's small tools against Debian's, side by side: addcr and delcr
// byte for byte on edge cases (empty input, CR at the end, CR CR LF, NULs,
// random bytes, a large input) with their exit codes for a closed input, a
// closed output and a reader that goes away (SIGPIPE); fixcrio and
// recordio's bytes and records, the program's exit code or signal; argv0;
// usage lines; mconnect-io, tcpcat, mconnect, http@ (and who@, date@,
// finger@ on their fixed ports, as root) against a loopback server.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn as rawSpawn, spawnSync } from 'node:child_process';
import { isRoot, needReference, ours, reference, scratch } from './helpers/common';

const TOOLS = ['addcr', 'delcr', 'fixcrio', 'recordio', 'argv0'];
const need = needReference(...TOOLS, 'tcpcat', 'mconnect', 'mconnect-io', 'http@', 'tcpclient');
const dir = scratch('filters');

interface Out { code: number | null; signal: string | null; stdout: Buffer; stderr: string }

/** sh -c script, with $T the tool's directory (ours: bin/, Debian's: /usr/bin), input on stdin. */
function sh(which: 'ours' | 'debian', script: string, input: Buffer | string = ''): Out {
  const T = which === 'ours' ? path.dirname(ours('addcr')) : path.dirname(reference('addcr'));
  const r = spawnSync('/bin/sh', ['-c', script], {
    input, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', T }, timeout: 60_000, maxBuffer: 1 << 26,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString('latin1') };
}

function same(t: Test, script: string, input: Buffer | string = '', norm = (s: string) => s): void {
  const o = sh('ours', script, input), d = sh('debian', script, input);
  t.same({ code: o.code, signal: o.signal, stdout: norm(o.stdout.toString('latin1')), stderr: norm(o.stderr) },
    { code: d.code, signal: d.signal, stdout: norm(d.stdout.toString('latin1')), stderr: norm(d.stderr) }, script);
}

t.test('addcr and delcr: the same bytes on edge cases', need, async (t) => {
  const inputs = ['', 'a', 'a\r', '\r', '\r\r', '\r\n', 'a\r\r\n', '\r\r\n\n', 'x\ny\r\nz\rw\r', '\n\n\r\n', '\0\r\0\n\r',
    '\r'.repeat(9000) + '\n', 'line\r\n'.repeat(5000)];
  for (const input of inputs) {
    for (const tool of ['addcr', 'delcr']) same(t, `"$T/${tool}"`, Buffer.from(input, 'latin1'));
  }
  // Random bytes, more than one read, with CRs and LFs dense, and a CR LF across the 8192-byte reads.
  let seed = 7;
  const rnd = Buffer.alloc(300_000);
  for (let i = 0; i < rnd.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    rnd[i] = [0x0d, 0x0a, seed & 0xff][seed % 3];
  }
  rnd[8191] = 0x0d;
  rnd[8192] = 0x0a;
  for (const tool of ['addcr', 'delcr']) same(t, `"$T/${tool}"`, rnd);
});

t.test('addcr and delcr: closed input, closed output, a reader that goes away', need, async (t) => {
  for (const tool of ['addcr', 'delcr']) {
    same(t, `"$T/${tool}" <&-; echo $?`);
    same(t, `echo hi | "$T/${tool}" >&-; echo $?`);
    same(t, `"$T/${tool}" </dev/null >&-; echo $?`);
    // Twice the pipe's capacity into a reader that reads one byte: SIGPIPE (141).
    same(t, `head -c 200000 /dev/zero | tr '\\0' '\\n' | { "$T/${tool}"; echo $? >&2; } | head -c 1 >/dev/null`);
  }
});

t.test('fixcrio: a CR before each bare LF, both ways', need, async (t) => {
  same(t, `printf 'a\\nb\\r\\nc\\n' | "$T/fixcrio" sh -c 'od -c; printf "x\\ny\\r\\nz"'`);
  same(t, `printf '\\r\\n\\n\\r\\r\\n' | "$T/fixcrio" cat`);
  same(t, `"$T/fixcrio"; echo $?`);
  same(t, `"$T/fixcrio" /nonexistent/prog </dev/null; echo $?`);
});

t.test('recordio: the records, the data, the program\'s exit', need, async (t) => {
  const pid = (s: string) => s.replace(/^\d+ /gm, 'PID ');
  // As rts.tests feeds it: the input, then a pause, so the records come in one order.
  same(t, `( printf 'test\\ntest2\\npartial'; sleep 1 ) | "$T/recordio" cat 2>&1 >/dev/null`, '', pid);
  same(t, `( printf 'one\\n'; sleep 1 ) | "$T/recordio" cat`, '', pid);
  same(t, `"$T/recordio" sh -c 'exit 7' </dev/null 2>/dev/null; echo $?`);
  same(t, `"$T/recordio" sh -c 'kill -TERM $$' </dev/null 2>/dev/null; echo $?`);
  same(t, `"$T/recordio"; echo $?`);
});

t.test('argv0', need, async (t) => {
  same(t, `"$T/argv0" sh zero -c 'echo $0'; echo $?`);
  same(t, `"$T/argv0" sh; echo $?`);
  same(t, `"$T/argv0"; echo $?`);
  same(t, `"$T/argv0" /nonexistent/prog x; echo $?`);
});

/** A server on host:port (0: any) that greets with what hello(received so far) says once the client has sent its first line or at once. */
async function server(host: string, port: number, greet: (first: string) => string, waitLine = false) {
  const got: string[] = [];
  const s = net.createServer((c) => {
    c.on('error', () => {});
    c.setEncoding('latin1');
    let data = '';
    if (!waitLine) c.end(greet(''));
    c.on('data', (d: string) => {
      data += d;
      if (waitLine && data.includes('\n')) { c.end(greet(data)); }
    });
    c.on('end', () => got.push(data));
  });
  await new Promise<void>((ok, fail) => { s.once('error', fail); s.listen(port, host, ok); });
  t.teardown(() => new Promise<void>((ok) => s.close(() => ok())));
  return { port: (s.address() as net.AddressInfo).port, got };
}

/** script through sh, asynchronously (the server runs in this process). */
function shAsync(which: 'ours' | 'debian', script: string, input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const T = which === 'ours' ? path.dirname(ours('addcr')) : path.dirname(reference('addcr'));
  return new Promise((resolve, reject) => {
    const p = rawSpawn('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', T } });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${script}: no end in 30 s`)); }, 30_000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}

async function sameAsync(t: Test, script: string, input = ''): Promise<void> {
  const o = await shAsync('ours', script, input), d = await shAsync('debian', script, input);
  t.same(o, d, script);
}

t.test('tcpcat, mconnect (mconnect-io), http@ against a loopback server', need, async (t) => {
  const cat = await server('127.0.0.1', 0, () => 'quote\r\nof the day\n');
  await sameAsync(t, `"$T/tcpcat" 127.0.0.1 ${cat.port}; echo $?`);
  const smtp = await server('127.0.0.1', 0, (first) => `250 got ${JSON.stringify(first)}\r\n`, true);
  await sameAsync(t, `"$T/mconnect" 127.0.0.1 ${smtp.port}; echo $?`, 'HELO there\nQUIT\n');
  t.ok(smtp.got.every((g) => g.startsWith('HELO there\r\n')), 'lines reach the server with CR LF');
  const http = await server('127.0.0.1', 0, (req) => `HTTP/1.0 200 OK\r\nX-Req: ${req.split('\r\n')[0]}\r\n\r\nbody\r\nline2\r\n`, true);
  await sameAsync(t, `"$T/http@" 127.0.0.1 some/page ${http.port}; echo $?`);
  // mconnect-io without a connection: nothing to copy, exit 0.
  same(t, `"$T/mconnect-io" </dev/null; echo $?`);
});

t.test('who@, date@, finger@ on their ports', { skip: need.skip || (!isRoot && 'needs root: ports 11, 13 and 79') }, async (t) => {
  const host = `127.0.${11 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  await server(host, 11, () => 'alice tty1\r\nbob\tpts/0\x07\r\n');
  await server(host, 13, () => 'Mon Dec  7 20:00:00 2026\r\n');
  const finger = await server(host, 79, (q) => `asked ${JSON.stringify(q)}\r\nbye\r`, true);
  await sameAsync(t, `"$T/who@" ${host}; echo $?`);
  await sameAsync(t, `"$T/date@" ${host}; echo $?`);
  await sameAsync(t, `"$T/finger@" ${host} alice; echo $?`);
  t.ok(finger.got.every((g) => g === 'alice\r\n'), 'the user, with CR LF');
});

t.test('the scripts run our tcpclient, wherever they are linked from', need, async (t) => {
  const d = dir('links');
  fs.symlinkSync(ours('tcpcat'), path.join(d, 'tcpcat'));
  const text = fs.readFileSync(ours('tcpcat'), 'utf8');
  t.notMatch(text, /\/usr\/bin\//, 'no Debian path in tcpcat');
  const cat = await server('127.0.0.1', 0, () => 'x\n');
  const r = await shAsync('ours', `PATH=/usr/bin:/bin; "${d}/tcpcat" 127.0.0.1 ${cat.port}`);
  t.equal(r.stdout, 'x\n');
});
