// The line-end conversions of ucspi-tcp's filters, byte for byte and across
// reads (the state a chunk leaves is where the next one starts):
// - addcr: a CR before every LF, whatever precedes it;
// - delcr: the CR of every CR LF removed; any other CR kept, a CR at the very
//   end of the input too (flush);
// - fixcrio's: a CR before every LF that has none, so that CR LF stays CR LF.

export interface Converter {
  /** The output for one chunk of input. */
  put(chunk: Uint8Array): Buffer;
  /** What the end of the input adds. */
  end(): Buffer;
}

const CR = 0x0d, LF = 0x0a;
const EMPTY = Buffer.alloc(0);

export function addcr(): Converter {
  return {
    put(chunk) {
      let lf = 0;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === LF) lf++;
      const out = Buffer.allocUnsafe(chunk.length + lf);
      let o = 0;
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] === LF) out[o++] = CR;
        out[o++] = chunk[i];
      }
      return out;
    },
    end: () => EMPTY,
  };
}

export function delcr(): Converter {
  let cr = false;
  return {
    put(chunk) {
      const out = Buffer.allocUnsafe(chunk.length + 1);
      let o = 0;
      for (let i = 0; i < chunk.length; i++) {
        const ch = chunk[i];
        if (!cr) {
          if (ch === CR) cr = true;
          else out[o++] = ch;
          continue;
        }
        if (ch !== LF) {
          out[o++] = CR;
          if (ch === CR) continue;
        }
        cr = false;
        out[o++] = ch;
      }
      return out.subarray(0, o);
    },
    end() {
      const tail = cr ? Buffer.from([CR]) : EMPTY;
      cr = false;
      return tail;
    },
  };
}

export function fixcr(): Converter {
  let cr = false;
  return {
    put(chunk) {
      const out = Buffer.allocUnsafe(chunk.length * 2);
      let o = 0;
      for (let i = 0; i < chunk.length; i++) {
        const ch = chunk[i];
        if (ch === LF && !cr) out[o++] = CR;
        out[o++] = ch;
        cr = ch === CR;
      }
      return out.subarray(0, o);
    },
    end: () => EMPTY,
  };
}
