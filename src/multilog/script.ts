// multilog's script: one action per argument, read the way daemontools
// reads it. Unknown actions are ignored and numbers are whatever digits
// lead the argument, clamped, exactly as the original does; sysadmins'
// existing run scripts must mean the same thing here.
import { scanUlongBig } from '../lib/scan';

export interface LogDirSpec {
  dir: string;
  size: number; // rotate once current reaches this many bytes
  num: number; // keep fewer than this many old files
  processor: string | null;
}

export type Action =
  | { kind: 'select'; pattern: Buffer } // +pattern
  | { kind: 'deselect'; pattern: Buffer } // -pattern
  | { kind: 'alert' } // e
  | { kind: 'status'; file: string } // =file
  | { kind: 'dir'; index: number; spec: LogDirSpec }; // ./dir or /dir

export interface Script {
  timestamp: boolean; // 't' counts only as the first action
  actions: Action[];
  dirs: LogDirSpec[];
}

export const DEFAULT_SIZE = 99999;
export const MIN_SIZE = 4096;
export const MAX_SIZE = 16777215;
export const DEFAULT_NUM = 10;
export const MIN_NUM = 2;

// scan_ulong: the leading decimal digits, 0 if none, wrapping like a
// 64-bit unsigned long.
export function leadingNumber(s: string): bigint {
  return scanUlongBig(s)[0];
}

function clamp(n: bigint, lo: number, hi: number): number {
  return n < BigInt(lo) ? lo : n > BigInt(hi) ? hi : Number(n);
}

export function parseScript(args: string[]): Script {
  const actions: Action[] = [];
  const dirs: LogDirSpec[] = [];
  let size = DEFAULT_SIZE;
  let num = DEFAULT_NUM;
  let processor: string | null = null;
  for (const arg of args) {
    switch (arg[0]) {
      case '+':
        actions.push({ kind: 'select', pattern: Buffer.from(arg.slice(1)) });
        break;
      case '-':
        actions.push({ kind: 'deselect', pattern: Buffer.from(arg.slice(1)) });
        break;
      case 'e':
        actions.push({ kind: 'alert' });
        break;
      case '=':
        actions.push({ kind: 'status', file: arg.slice(1) });
        break;
      case 's':
        size = clamp(leadingNumber(arg.slice(1)), MIN_SIZE, MAX_SIZE);
        break;
      case 'n':
        num = clamp(leadingNumber(arg.slice(1)), MIN_NUM, Number.MAX_SAFE_INTEGER);
        break;
      case '!':
        processor = arg.slice(1);
        break;
      case '.':
      case '/': {
        const spec = { dir: arg, size, num, processor };
        actions.push({ kind: 'dir', index: dirs.length, spec });
        dirs.push(spec);
        break;
      }
    }
  }
  return { timestamp: args.length > 0 && args[0][0] === 't', actions, dirs };
}
