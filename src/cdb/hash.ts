// djb's cdb hash: h = 5381; h = (h * 33) ^ byte, kept to 32 bits.
// It decides both the table (low 8 bits) and the first slot (h >>> 8),
// so it must match the C original bit for bit.

export function cdbHash(key: Buffer): number {
  let h = 5381;
  for (let i = 0; i < key.length; i++) h = (((h << 5) + h) ^ key[i]) >>> 0;
  return h;
}

/** Same hash over a slice, so parsers can hash keys without copying them out. */
export function cdbHashRange(buf: Buffer, start: number, end: number): number {
  let h = 5381;
  for (let i = start; i < end; i++) h = (((h << 5) + h) ^ buf[i]) >>> 0;
  return h;
}
