// rblsmtpd's tests: running ours or the reference with an input, to the end.
import { killGroup, spawn } from './common';

export interface Out { status: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs file to its end (killed after 60 s: a failure); input is written, then stdin is closed unless hold. */
export function run(file: string, args: string[], env: Record<string, string>, input = '', hold = false): Promise<Out> {
  return new Promise((resolve) => {
    const p = spawn(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout!.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    p.stderr!.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    p.stdin!.on('error', () => {});
    p.stdin!.write(Buffer.from(input, 'latin1'));
    if (!hold) p.stdin!.end();
    const limit = setTimeout(() => killGroup(p.pid), 60_000);
    p.on('close', (status, signal) => {
      clearTimeout(limit);
      p.stdin!.destroy();
      resolve({ status, signal, stdout, stderr: stderr.replace(/ pid \d+: /g, ' pid X: ') });
    });
  });
}

export const DIALOGUE = 'HELO client.example\r\nEHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nnoop\nRSET\r\nhelp\r\nQUIT\r\nafter quit\r\n';
