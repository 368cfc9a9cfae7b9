// TAI64N labels, the time format of supervise/status: 8 bytes of seconds
// offset by 2^62 (+10, the TAI-UTC difference djb's libtai assumes), then 4
// bytes of nanoseconds, both big-endian.
const OFFSET = 4611686018427387914n; // 2^62 + 10

export interface Tai { sec: number; nano: number }

export function taiNow(): Tai {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nano: (ms % 1000) * 1e6 };
}

export function packTai(t: Tai, out: Buffer, at = 0): void {
  out.writeBigUInt64BE(BigInt(t.sec) + OFFSET, at);
  out.writeUInt32BE(t.nano, at + 8);
}

export function unpackTai(b: Buffer, at = 0): Tai {
  return { sec: Number(b.readBigUInt64BE(at) - OFFSET), nano: b.readUInt32BE(at + 8) };
}
