// The bench's one table, as Markdown: the four servers' figures, then each of
// ours as a ratio to the reference tcpserver, and whether the goal holds.

export type Cell = number | null;

/** The middle value (the upper one of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface Row {
  what: string;
  unit: string;
  /** tcpserver (C), tcpsvd (C), ours tcpserver, ours tcpsvd. */
  cells: Cell[];
  better: 'higher' | 'lower';
  /** Goal on the ratio ours / tcpserver: at least (higher) or at most (lower) this. */
  goal?: number;
  /** Goal on our own figures: at most this. */
  limit?: number;
}

const REF = 0;
const OURS = [2, 3];

function ratio(r: Row, i: number): number | null {
  const ref = r.cells[REF];
  const v = r.cells[i];
  return ref && v !== null && v !== undefined ? v / ref : null;
}

/** true or false when the row has a goal and every figure of ours is there; else undefined. */
export function goalMet(r: Row): boolean | undefined {
  const ours = OURS.map((i) => r.cells[i]).filter((v): v is number => v !== null && v !== undefined);
  if (r.limit !== undefined && ours.length) return ours.every((v) => v <= r.limit!);
  if (r.goal === undefined) return undefined;
  const rs = OURS.map((i) => ratio(r, i)).filter((v): v is number => v !== null);
  if (!rs.length) return undefined;
  return rs.every((x) => (r.better === 'higher' ? x >= r.goal! : x <= r.goal!));
}

function num(v: Cell | undefined, unit: string): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (unit === '/s' || unit === '' || Math.abs(v) >= 1000) return Math.round(v).toString();
  return v.toFixed(unit === 'ms' ? 2 : 1);
}

export function renderTable(columns: string[], rows: Row[], opts: { title: string }): string {
  const head = ['what', ...columns, `${columns[2]} / ${columns[0]}`, `${columns[3]} / ${columns[0]}`, 'goal'];
  const lines = [`Benchmark ${opts.title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const met = goalMet(r);
    const goal = r.limit !== undefined ? `≤ ${r.limit} ${r.unit}` : r.goal !== undefined ? `${r.better === 'higher' ? '≥' : '≤'} ${r.goal.toFixed(2)}×` : '';
    const cells = [
      `${r.what}${r.unit ? ` (${r.unit})` : ''}`,
      ...columns.map((_, i) => num(r.cells[i], r.unit)),
      ...OURS.map((i) => {
        const x = ratio(r, i);
        return x === null ? '–' : `${x.toFixed(2)}×`;
      }),
      goal ? `${goal} ${met === undefined ? '' : met ? 'met' : 'MISSED'}`.trim() : '',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
