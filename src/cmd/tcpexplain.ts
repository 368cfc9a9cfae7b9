// tcpexplain: for a client, which entry of a tcprules file or cdb, or of an
// ipsvd peers directory or cdb, decides, and why (src/explain). Here: the
// options, the output, the exit code.
import { ExplainError, explainAll, type ExplainOptions, type Kind } from '../explain/report';
import { text } from '../explain/text';
import { unescapeMsg } from '../instruct/parse';
import { errstr } from '../lib/errstr';
import { getopt, orUsage, UsageError } from '../lib/getopt';
import { badDescriptor, closedAtStart } from '../lib/stdfd';
import { writeLine } from '../lib/strerr';
import { writeAll } from '../lib/writeall';

const PROG = 'tcpexplain';
const USAGE = {
  prog: PROG,
  text: `${PROG}: usage: ${PROG} [--json] [--host name | --dns [--paranoid]] [--info text] [--per-host n[:msg]]` +
    ' [--allow-missing] --rules file | --rules-cdb cdb | --peers dir | --peers-cdb cdb ip ...',
  code: 100,
};

const LONGS = {
  json: false, host: true, dns: false, paranoid: false, info: true, 'per-host': true, 'allow-missing': false,
  rules: true, 'rules-cdb': true, peers: true, 'peers-cdb': true,
} as const;

/** --json: the report as JSON, one line each. */
type Options = ExplainOptions & { json: boolean };

const KIND_OF: Record<string, Kind> = { rules: 'rules', 'rules-cdb': 'rules-cdb', peers: 'peers-dir', 'peers-cdb': 'peers-cdb' };

export function parseArgs(argv: string[]): Options {
  const o: Partial<Options> & { json: boolean; dns: boolean; paranoid: boolean; allowMissing: boolean } =
    { json: false, dns: false, paranoid: false, allowMissing: false };
  const ips = getopt(argv, '', (name, value) => {
    switch (name) {
      case 'json': o.json = true; break;
      case 'dns': o.dns = true; break;
      case 'paranoid': o.paranoid = true; break;
      case 'allow-missing': o.allowMissing = true; break;
      case 'host': o.host = value!; break;
      case 'info': o.info = value!; break;
      case 'per-host': {
        const m = /^([0-9]+)(?::([\s\S]*))?$/.exec(value!);
        if (!m) throw new UsageError(`${PROG}: --per-host wants n or n:message, not ${value}`);
        o.perHost = m[2] === undefined ? { limit: Number(m[1]) } : { limit: Number(m[1]), msg: unescapeMsg(m[2]) };
        break;
      }
      default:
        if (o.kind !== undefined) throw new UsageError(`${PROG}: one rule source only`);
        o.kind = KIND_OF[name];
        o.path = value!;
    }
  }, LONGS);
  if (o.kind === undefined) throw new UsageError(`${PROG}: no rule source given`);
  if (ips.length === 0) throw new UsageError();
  if (o.host !== undefined && o.dns) throw new UsageError(`${PROG}: --host and --dns exclude each other`);
  if (o.paranoid && !o.dns) throw new UsageError(`${PROG}: --paranoid needs --dns`);
  if (o.allowMissing && o.kind !== 'rules-cdb') throw new UsageError(`${PROG}: --allow-missing is for --rules-cdb (tcpserver -X)`);
  if (o.perHost && (o.kind === 'rules' || o.kind === 'rules-cdb')) {
    throw new UsageError(`${PROG}: --per-host is for --peers and --peers-cdb (tcpsvd -C)`);
  }
  return { ...o, ips } as Options;
}

// Each report as soon as it is made, whole: an error with a later client
// leaves the earlier ones printed.
function emit(s: string): void {
  try {
    writeAll(1, Buffer.from(s));
  } catch (e) {
    throw new ExplainError(`unable to write output: ${errstr(e)}`, 111);
  }
}

export function main(argv: string[]): void {
  const o = orUsage(USAGE, () => parseArgs(argv));
  // Node puts /dev/null in place of a closed stdout: the answer would vanish.
  if (closedAtStart(1)) {
    writeLine(`${PROG}: fatal: unable to write output: ${errstr(badDescriptor())}`);
    process.exit(111);
  }
  let first = true;
  explainAll(o, (r) => {
    if (o.json) {
      emit(JSON.stringify(r) + '\n');
    } else {
      emit((first ? '' : '\n') + text(r));
      first = false;
    }
  }).then(() => {
    process.exitCode = 0;
  }, (e) => {
    // A reader that went away (| head) is no news.
    if (!/: broken pipe$/.test(e instanceof ExplainError ? e.text : '')) {
      writeLine(`${PROG}: fatal: ${e instanceof ExplainError ? e.text : errstr(e)}`);
    }
    process.exitCode = e instanceof ExplainError ? e.code : 111;
  });
}
