// Starting the tree at boot (contrib/): the systemd units pass
// systemd-analyze verify (with ExecStart pointed at this checkout's bin/),
// the OpenRC scripts parse with sh -n, and, when OpenRC is installed, the
// inetd script is run for real through openrc-run and supervise-daemon:
// start, status, a client, reload (a reread), stop. OpenRC runs in a mount
// namespace with its state on a tmpfs /run and the test's init.d on
// /etc/init.d, so the system's own services are not touched.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { BIN, ROOT, needPackage, which } from './helpers/common';
import { canUnshare, freePortOn, randomLoopback, tcpTalk, tmpDir } from './helpers/inetd';

const CONTRIB = path.join(ROOT, 'contrib');
const units = fs.readdirSync(path.join(CONTRIB, 'systemd')).filter((f) => f.endsWith('.service'));
const scripts = fs.readdirSync(path.join(CONTRIB, 'openrc'));
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

t.test('contrib/ ships, and names commands of this package', async (t) => {
  t.ok((pkg.files as string[]).includes('contrib/'), 'package.json files has contrib/');
  t.same(units.sort(), ['ucspi-inetd.service', 'ucspi-runsvdir.service', 'ucspi-svscan.service']);
  t.same(scripts.sort(), ['ucspi-inetd', 'ucspi-runsvdir', 'ucspi-svscan']);
  for (const f of [...units.map((u) => `systemd/${u}`), ...scripts.map((s) => `openrc/${s}`)]) {
    const text = fs.readFileSync(path.join(CONTRIB, f), 'utf8');
    const cmds = [...text.matchAll(/\/usr\/local\/bin\/([\w-]+)/g)].map((m) => m[1]);
    t.ok(cmds.length > 0, `${f} names a command`);
    for (const c of cmds) t.ok(pkg.bin[c], `${f}: ${c} is a command of this package`);
  }
});

t.test('systemd units: systemd-analyze verify', { skip: needPackage('systemd', which('systemd-analyze') !== undefined, 'systemd-analyze') }, async (t) => {
  const dir = tmpDir('inetd-units-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const u of units) {
    // The installed path of the commands is the administrator's: here, this checkout's bin/.
    const text = fs.readFileSync(path.join(CONTRIB, 'systemd', u), 'utf8').replaceAll('/usr/local/bin/', BIN + '/');
    fs.writeFileSync(path.join(dir, u), text);
  }
  const r = spawnSync('systemd-analyze', ['verify', ...units.map((u) => path.join(dir, u))], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, 'verify exits 0');
  t.equal(r.stderr.replaceAll(dir, 'DIR').split('\n').filter((l) => l && !/Failed to .*(cgroup|bus)|Cannot .*bus|systemd-analyze is not/i.test(l)).join('\n'), '',
    'no complaint about the units');
});

t.test('OpenRC scripts: sh -n', async (t) => {
  for (const s of scripts) {
    const r = spawnSync('sh', ['-n', path.join(CONTRIB, 'openrc', s)], { encoding: 'utf8', timeout: 10_000 });
    t.equal(r.status, 0, `${s} parses`);
    t.match(fs.readFileSync(path.join(CONTRIB, 'openrc', s), 'utf8'), /^#!\/sbin\/openrc-run\n[\s\S]*supervisor=supervise-daemon/, `${s}: openrc-run, supervise-daemon`);
  }
});

/** Kills every process whose command line mentions dir (supervise-daemon detaches from our process group). */
function killMentioning(dir: string): void {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(dir)) process.kill(Number(p), 'SIGKILL');
    } catch { /* gone */ }
  }
}

const noOpenrc = needPackage('openrc', fs.existsSync('/sbin/openrc-run') && which('supervise-daemon') !== undefined,
  'OpenRC (the script was only parsed)')
  || (!canUnshare() ? 'needs root and unshare -m to run OpenRC beside the system' : false);

t.test('OpenRC: ucspi-inetd started, reloaded and stopped by openrc-run and supervise-daemon', { skip: noOpenrc }, async (t) => {
  const dir = tmpDir('inetd-openrc-');
  t.teardown(() => { killMentioning(dir); fs.rmSync(dir, { recursive: true, force: true }); });
  const ip = randomLoopback();
  const port = await freePortOn(ip);
  const initd = path.join(dir, 'init.d');
  fs.mkdirSync(initd);
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(conf, `${ip}:${port} stream tcp nowait root /bin/echo echo first\n`);
  // The script as installed, with this checkout's command and the test's file (what conf.d would set).
  const script = fs.readFileSync(path.join(CONTRIB, 'openrc', 'ucspi-inetd'), 'utf8')
    .replace('${INETD:-/usr/local/bin/inetd}', path.join(BIN, 'inetd'))
    .replace('${INETD_OPTS}', `--pidfile=${dir}/inetd.pid`)
    .replaceAll('${INETD_CONF:-/etc/inetd.conf}', conf);
  fs.writeFileSync(path.join(initd, 'ucspi-inetd'), script, { mode: 0o755 });
  // Something to provide "net" (no networking service runs here).
  fs.writeFileSync(path.join(initd, 'test-net'), '#!/sbin/openrc-run\ndepend() { provide net; }\nstart() { return 0; }\n', { mode: 0o755 });
  const client = `node -e 'const s=require("net").connect(${port},"${ip}");s.on("data",d=>process.stdout.write(d));s.on("error",e=>console.log(e.code))'`;
  const steps = [
    'mount -t tmpfs none /run', `mount --bind ${initd} /etc/init.d`,
    'for d in started starting stopping inactive wasinactive failed hotplugged daemons options exclusive scheduled tmp; do mkdir -p /run/openrc/$d; done',
    'touch /run/openrc/softlevel',
    'trap "/sbin/openrc-run /etc/init.d/ucspi-inetd stop >/dev/null 2>&1" EXIT',
    '/sbin/openrc-run /etc/init.d/ucspi-inetd start >/dev/null 2>&1; echo "start $?"',
    `i=0; while [ $i -lt 100 ] && ! [ -s ${dir}/inetd.pid ]; do sleep 0.1; i=$((i+1)); done`,
    'sleep 0.5',
    '/sbin/openrc-run /etc/init.d/ucspi-inetd status >/dev/null 2>&1; echo "status $?"',
    client, 'echo',
    `echo '${ip}:${port} stream tcp nowait root /bin/echo echo second' > ${conf}`,
    '/sbin/openrc-run /etc/init.d/ucspi-inetd reload >/dev/null 2>&1; echo "reload $?"',
    'sleep 1', client, 'echo',
    '/sbin/openrc-run /etc/init.d/ucspi-inetd stop >/dev/null 2>&1; echo "stop $?"',
    `i=0; while [ $i -lt 50 ] && [ -e ${dir}/inetd.pid ]; do sleep 0.1; i=$((i+1)); done`,
    `[ -e ${dir}/inetd.pid ] && echo "pid file left" || echo "pid file removed"`,
  ];
  const r = spawnSync('unshare', ['-m', 'sh', '-c', steps.join('\n')], { encoding: 'utf8', timeout: 90_000 });
  t.equal(r.stdout, 'start 0\nstatus 0\nfirst\n\nreload 0\nsecond\n\nstop 0\npid file removed\n', `the life cycle (stderr: ${r.stderr})`);
  t.equal(await tcpTalk(ip, port), 'ERR:ECONNREFUSED', 'nothing listens once stopped');
});
