// One convention for service directories: the README's table of default
// directories ("Where services live") against every file of contrib/, every
// man page, the README itself and the defaults the commands use when run
// (srv, inetconv, sv beside Debian's sv, svscanboot beside Debian's), so
// that no default can drift from it again.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, findReference, ours, which } from './helpers/common';
import { tmp } from './helpers/svdir';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The table's rows: directory -> what it holds. */
function table(): Map<string, string> {
  const at = readme.indexOf('### Where services live');
  const rows = new Map<string, string>();
  if (at < 0) return rows;
  const section = readme.slice(at, readme.indexOf('\n#', at + 4) >>> 0);
  for (const m of section.matchAll(/^\| `(\/[^`]+)` \| ([^|]+) \|/gm)) rows.set(m[1], m[2]);
  return rows;
}

const rows = table();
const avail = [...rows].find(([, what]) => /available/.test(what))?.[0];
const live = [...rows].find(([, what]) => /scan directory/.test(what))?.[0];

/** Every file to hold to the table. */
function files(): string[] {
  const out = ['README.md', 'bin/svscanboot', 'src/cmd/srv.ts', 'src/cmd/sv.ts', 'src/cmd/inetconv.ts'];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(rel, e.name));
      else out.push(path.join(rel, e.name));
    }
  };
  walk('contrib');
  walk('man');
  return out;
}

t.test('the README has the table: an available and a live directory, Debian\'s', async (t) => {
  t.equal(avail, '/etc/sv', 'the available directory');
  t.equal(live, '/etc/service', 'the live (scan) directory');
  t.equal(rows.size, 2, 'nothing else');
});

t.test('every service directory named in contrib/, man/, the README and the commands is in the table', async (t) => {
  // Absolute names of a scan or service directory (not /etc/services, not /tmp/...).
  const re = /(?<![\w./-])(\/(?:etc\/|var\/)?(?:sv|service))(?![\w.-])/g;
  let seen = 0;
  for (const f of files()) {
    const lines = fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(re)) {
        seen++;
        const dir = m[1];
        if (rows.has(dir)) continue;
        // Upstream's /service may be named as upstream's, nothing else.
        const around = lines.slice(Math.max(0, i - 2), i + 1).join(' ');
        if (dir === '/service' && /upstream|daemontools' own/i.test(around)) continue;
        t.fail(`${f}:${i + 1}: ${dir} is not in the README's table: ${line.trim()}`);
      }
    });
  }
  t.ok(seen > 20, `directories found (${seen})`);
});

t.test('every scanner in contrib/, man/ and the README scans the live directory', async (t) => {
  const scanners = [
    /\brunsvdir\s+(?:-P\s+)?(\/[\w/]+)/g, /\bsvscan\s+(\/[\w/]+)/g,
    /SVSCANDIR(?:=|:-)(\/[\w/]+)/g, /RUNSVDIR_DIR:-(\/[\w/]+)/g, /svscanboot.*SVSCANDIR=(\/[\w/]+)/g,
  ];
  let seen = 0;
  for (const f of files()) {
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    for (const re of scanners) {
      for (const m of text.matchAll(re)) {
        const dir = m[1].replace(/\/$/, '');
        if (dir.startsWith('/tmp/') || dir.startsWith('/usr/')) continue;
        seen++;
        const line = text.slice(0, m.index).split('\n').length;
        if (dir === '/service' && /upstream|daemontools' own/i.test(text.split('\n').slice(Math.max(0, line - 3), line).join(' '))) continue;
        t.equal(dir, live, `${f}:${line}: ${m[0]}`);
      }
    }
  }
  t.ok(seen >= 6, `scanners found (${seen})`);
});

t.test("the commands' defaults, as they run", async (t) => {
  const dir = tmp(t);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SVDIR;
  delete env.SRVDIR;
  delete env.SVSCANDIR;
  const name = 'no-such-service-here';
  const srv = spawnSync(ours('srv'), ['--info', name], { env, encoding: 'utf8', timeout: 20_000 });
  t.match(srv.stderr, `neither ${live}/${name} nor ${avail}/${name} exists`, 'srv: $SVDIR and $SRVDIR');

  fs.writeFileSync(path.join(dir, 'inetd.conf'), `${name} stream tcp nowait nobody /bin/cat cat\n`);
  const conv = spawnSync(ours('inetconv'), ['-n', '-i', 'inetd.conf', '-a', '/dev/null', '-D', '/dev/null'], { cwd: dir, env, encoding: 'utf8', timeout: 20_000 });
  t.match(conv.stdout, `would create ${avail}/${name}:`, 'inetconv writes the available directory');

  const boot = fs.readFileSync(ours('svscanboot'), 'utf8');
  t.match(boot, `dir=\${SVSCANDIR:-${live}}`, 'svscanboot scans the live directory');
  const debBoot = findReference('svscanboot');
  if (debBoot) t.match(fs.readFileSync(debBoot, 'utf8'), `svscan ${live} `, "as Debian's svscanboot");

  // sv's $SVDIR: the directory it changes to first, ours and Debian's, seen with strace.
  const strace = which('strace');
  const refSv = findReference('sv');
  if (!strace) t.comment('strace not installed: sv\'s default seen only in its source');
  const firstDir = (sv: string) => {
    const r = spawnSync(strace!, ['-f', '-qq', '-e', 'trace=chdir', sv, 'status', name], { cwd: dir, env, encoding: 'utf8', timeout: 20_000 });
    return /chdir\("(\/[^"]*)"\)/.exec(r.stderr.split('\n').filter((l) => !l.includes(`"${dir}"`)).join('\n'))?.[1];
  };
  if (strace) {
    t.equal(firstDir(ours('sv')), `${live}/`, 'our sv looks in the live directory');
    if (refSv) t.equal(firstDir(refSv), `${live}/`, "as Debian's sv does");
  }
  t.match(fs.readFileSync(path.join(ROOT, 'src/cmd/sv.ts'), 'utf8'), `process.env.SVDIR ?? '${live}/'`, 'sv.ts');
});
