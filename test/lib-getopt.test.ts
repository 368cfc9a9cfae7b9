// src/lib/getopt: sgetopt's parse, option by option.
import t from 'tap';
import { BadOption, getopt } from '../src/lib/getopt';

function parse(argv: string[], optstring: string): { opts: string[]; rest: string[] } | string {
  const opts: string[] = [];
  try {
    const rest = getopt(argv, optstring, (ch, v) => opts.push(v === undefined ? ch : `${ch}=${v}`));
    return { opts, rest };
  } catch (e) {
    if (!(e instanceof BadOption)) throw e;
    return `${opts.join(',')} ${e.message}`;
  }
}

t.test('flags, bundles, values, ends', async (t) => {
  const cases: Array<[string[], ReturnType<typeof parse>]> = [
    [['-du', 'a'], { opts: ['d', 'u'], rest: ['a'] }],
    [['-vvd', 'a'], { opts: ['v', 'v', 'd'], rest: ['a'] }],
    [['-vvx', 'a'], { opts: ['v', 'v', 'x=a'], rest: [] }],
    [['-c5', 'h'], { opts: ['c=5'], rest: ['h'] }],
    [['-c', '5', 'h'], { opts: ['c=5'], rest: ['h'] }],
    [['-vc5', 'h'], { opts: ['v', 'c=5'], rest: ['h'] }],
    [['-c', '-v', 'h'], { opts: ['c=-v'], rest: ['h'] }],
    [['-c', ''], { opts: ['c='], rest: [] }],
    [['--', '-v'], { opts: [], rest: ['-v'] }],
    [['-', '-v'], { opts: [], rest: ['-', '-v'] }],
    [['h', 'p', 'prog', '-v', '-c', '--', 'x'], { opts: [], rest: ['h', 'p', 'prog', '-v', '-c', '--', 'x'] }],
    [['-v', 'h', '-v'], { opts: ['v'], rest: ['h', '-v'] }],
    [[], { opts: [], rest: [] }],
    [['-vz', 'a'], 'v illegal option -- z'],
    [['-v', '-c'], 'v option requires an argument -- c'],
    [['-:'], ' illegal option -- :'],
  ];
  for (const [argv, want] of cases) t.same(parse(argv, 'vdux:c:'), want, argv.join(' '));
});

t.test('a command stops at the first option it rejects', async (t) => {
  const seen: string[] = [];
  t.throws(() => getopt(['-c', '0', '-z'], 'c:', (ch) => { seen.push(ch); throw new Error('rejected'); }), { message: 'rejected' });
  t.same(seen, ['c']);
});

t.test('long options, for commands that declare them', async (t) => {
  const longs = { 'proxy-from': true, json: false };
  const parseLong = (argv: string[]) => {
    const opts: string[] = [];
    try {
      const rest = getopt(argv, 'vc:', (ch, v) => opts.push(v === undefined ? ch : `${ch}=${v}`), longs);
      return { opts, rest };
    } catch (e) {
      if (!(e instanceof BadOption)) throw e;
      return `${opts.join(',')} ${e.message}`;
    }
  };
  const cases: Array<[string[], ReturnType<typeof parse>]> = [
    [['--proxy-from=10.0.0.0/8', 'h'], { opts: ['proxy-from=10.0.0.0/8'], rest: ['h'] }],
    [['--proxy-from', '::1', '-v', 'h'], { opts: ['proxy-from=::1', 'v'], rest: ['h'] }],
    [['--proxy-from='], { opts: ['proxy-from='], rest: [] }],
    [['-v', '--json', '-c3', 'h'], { opts: ['v', 'json', 'c=3'], rest: ['h'] }],
    [['--', '--json'], { opts: [], rest: ['--json'] }],
    [['h', '--json'], { opts: [], rest: ['h', '--json'] }],
    [['--jso'], ' illegal option -- -jso'],
    [['--json=1'], ' illegal option -- -json=1'],
    [['-v', '--proxy-from'], 'v option requires an argument -- -proxy-from'],
    [['--x'], ' illegal option -- -x'],
  ];
  for (const [argv, want] of cases) t.same(parseLong(argv), want, argv.join(' '));
  // Without long options "--json" is sgetopt's: the end of the options, dropped.
  t.same(parse(['--json', '-v', 'h'], 'vjson'), { opts: [], rest: ['-v', 'h'] });
});
