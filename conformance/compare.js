#!/usr/bin/env node
'use strict';
// compare.js EXPECTED DEBIAN OURS [SKIP-REGEX] [SUITE-NAME] [UNORDERED-REGEX]
//
// Splits the three outputs into sections (a section starts at a line that
// begins with "--- "; output before the first such line is the section ""),
// lines them up by title and by position inside a section, and prints:
// per section, the lines the expected file has (applicable unless the title
// matches SKIP-REGEX), how many of them Debian's run and ours reproduce, and
// every line where ours differs from Debian's. Sections whose title matches
// UNORDERED-REGEX (logs of concurrent connections, whose lines interleave as
// timing has it) are compared as multisets: a line is equal when the other
// output has it too, wherever. The last line is the total;
// exit status 0 when every line Debian passes, ours passes too, else 1.
const fs = require('node:fs');

const [expFile, debFile, oursFile, skipSrc = '', suite = 'suite', unorderedSrc = ''] = process.argv.slice(2);
if (!expFile || !debFile || !oursFile) {
  process.stderr.write('usage: compare.js expected debian ours [skip-regex] [name]\n');
  process.exit(100);
}
const skip = skipSrc ? new RegExp(skipSrc) : undefined;
const unordered = unorderedSrc ? new RegExp(unorderedSrc) : undefined;

// How many of want's lines have is (each line of is used once); the lines
// of a that b lacks.
function bag(lines) {
  const m = new Map();
  for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}
function common(want, is) {
  const m = bag(is);
  let n = 0;
  for (const l of want) if ((m.get(l) ?? 0) > 0) { m.set(l, m.get(l) - 1); n++; }
  return n;
}
function missing(a, b) {
  const m = bag(b);
  const out = [];
  for (const l of a) if ((m.get(l) ?? 0) > 0) m.set(l, m.get(l) - 1); else out.push(l);
  return out;
}

function sections(file) {
  let text = fs.readFileSync(file, 'latin1');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const lines = text === '' ? [] : text.split('\n');
  const out = [];
  let cur = { title: '', lines: [] };
  out.push(cur);
  for (const l of lines) {
    if (l.startsWith('--- ')) {
      cur = { title: l.slice(4), lines: [] };
      out.push(cur);
    } else cur.lines.push(l);
  }
  if (out[0].lines.length === 0 && out.length > 1) out.shift();
  return out;
}

// Sections with the same title are matched in order of appearance.
function index(secs) {
  const m = new Map();
  for (const s of secs) {
    if (!m.has(s.title)) m.set(s.title, []);
    m.get(s.title).push(s);
  }
  return m;
}

const exp = sections(expFile);
const deb = index(sections(debFile));
const ours = index(sections(oursFile));
const taken = new Map();
function take(m, title) {
  const k = (taken.get(m) ?? new Map());
  taken.set(m, k);
  const n = k.get(title) ?? 0;
  k.set(title, n + 1);
  return (m.get(title) ?? [])[n];
}

const show = (l) => (l === undefined ? '(no line)' : JSON.stringify(l));
let tApp = 0, tDeb = 0, tOurs = 0, tSkipSec = 0, tSkipLines = 0, regressions = 0;
const rows = [];
const diffs = [];
for (const s of exp) {
  const d = take(deb, s.title);
  const o = take(ours, s.title);
  const name = s.title || '(start)';
  if (skip && skip.test(s.title)) {
    tSkipSec++;
    tSkipLines += s.lines.length + (s.title ? 1 : 0);
    rows.push(`skip  ${name}  (${s.lines.length} lines)`);
    continue;
  }
  let nDeb = 0, nOurs = 0;
  const dl = d ? d.lines : [];
  const ol = o ? o.lines : [];
  if (unordered && unordered.test(s.title)) {
    nDeb = common(s.lines, dl);
    nOurs = common(s.lines, ol);
    const expBag = bag(s.lines);
    for (const l of missing(dl, ol)) {
      const dpass = (expBag.get(l) ?? 0) > 0;
      if (dpass) regressions++;
      diffs.push(`${name} [unordered]${dpass ? ' REGRESSION' : ''}: Debian's has, ours lacks ${show(l)}`);
    }
    for (const l of missing(ol, dl)) diffs.push(`${name} [unordered]: ours has, Debian's lacks ${show(l)}`);
    if (!d) diffs.push(`${name}: section missing from Debian's output`);
    if (!o) diffs.push(`${name}: section missing from our output`);
    tApp += s.lines.length; tDeb += nDeb; tOurs += nOurs;
    rows.push(`${String(s.lines.length).padStart(4)} ${String(nDeb).padStart(4)} ${String(nOurs).padStart(4)}  ${name} (unordered)`);
    continue;
  }
  const n = Math.max(s.lines.length, dl.length, ol.length);
  for (let i = 0; i < n; i++) {
    const e = s.lines[i], a = dl[i], b = ol[i];
    if (i < s.lines.length) {
      if (a === e) nDeb++;
      if (b === e) nOurs++;
    }
    if (a !== b) {
      const dpass = a === e, opass = b === e;
      if (dpass && !opass) regressions++;
      diffs.push(`${name} [line ${i + 1}]${dpass && !opass ? ' REGRESSION' : ''}\n` +
        `    expected: ${show(e)}\n    debian:   ${show(a)}\n    ours:     ${show(b)}`);
    }
  }
  if (!d) diffs.push(`${name}: section missing from Debian's output`);
  if (!o) diffs.push(`${name}: section missing from our output`);
  tApp += s.lines.length; tDeb += nDeb; tOurs += nOurs;
  rows.push(`${String(s.lines.length).padStart(4)} ${String(nDeb).padStart(4)} ${String(nOurs).padStart(4)}  ${name}`);
}
// Sections the expected file does not have at all.
for (const [m, who] of [[deb, 'Debian'], [ours, 'ours']]) {
  for (const [title, list] of m) {
    const used = taken.get(m)?.get(title) ?? 0;
    if (list.length > used) diffs.push(`${title || '(start)'}: section only in ${who}'s output`);
  }
}

const out = [];
out.push(`== ${suite}: per section (applicable, equal with Debian's, equal with ours)`);
out.push(...rows);
out.push(`== ${suite}: lines where ours differs from Debian's: ${diffs.length}`);
out.push(...diffs);
out.push(`== ${suite}: applicable ${tApp}, equal with Debian's ${tDeb}, equal with ours ${tOurs}; ` +
  `skipped ${tSkipSec} sections (${tSkipLines} expected lines); ` +
  `lines Debian passes and ours does not: ${regressions}`);
process.stdout.write(out.join('\n') + '\n');
process.exit(regressions === 0 ? 0 : 1);
