// A rule's value to a Decision. The value is a run of NUL-terminated
// strings: "D" means deny, "+VAR=value" sets VAR; anything else, and a tail
// without its NUL, is ignored, as tcpserver 0.88 does.
import type { Decision } from '../decide/decision';

export function decodeRule(value: Buffer, matched: string): Decision {
  const d: Decision = { action: 'allow', set: [], unset: [], matched };
  let at = 0;
  for (let nul = value.indexOf(0, at); nul >= 0; at = nul + 1, nul = value.indexOf(0, at)) {
    if (value[at] === 0x44) {
      d.action = 'deny';
    } else if (value[at] === 0x2b) {
      const eq = value.indexOf(0x3d, at + 1);
      // Byte strings (latin1): the value reaches prog byte for byte.
      if (eq >= 0 && eq < nul) d.set.push([value.toString('latin1', at + 1, eq), value.toString('latin1', eq + 1, nul)]);
    }
  }
  return d;
}
