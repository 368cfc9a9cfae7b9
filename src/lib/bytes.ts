// Byte strings: one char per byte (latin1), how the servers carry rule values
// and environment entries from the rules files and instructions to prog, so
// that bytes reach it as they are in the file. Text goes in and comes out
// through UTF-8.

/** Text (UTF-8) as a byte string, one char per byte: what a launch's environment holds. */
export function toBytes(s: string): string {
  // Plain ASCII, the common case, is its own byte string.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}

/** A byte string (one char per byte) as text, its bytes read as UTF-8: toBytes undone. */
export function fromBytes(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  return s;
}
