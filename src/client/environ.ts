// The program's environment as djb's pathexec builds it from pathexec_env
// calls: the caller's variables in their order; each change, in order,
// removes the variable it names by moving the last variable into its place,
// then appends NAME=value (nothing for an unset). So `env` under tcpclient
// lists the variables in the original's order, which scripts that diff it see.

/** environ (NAME=value strings) after the changes, in pathexec's order. */
export function pathexecEnv(environ: readonly string[], changes: ReadonlyArray<[string, string | undefined]>): string[] {
  const e = [...environ];
  for (const [name, value] of changes) {
    const at = e.findIndex((kv) => kv.startsWith(name + '='));
    if (at >= 0) {
      const last = e.pop()!;
      if (at < e.length) e[at] = last;
    }
    if (value !== undefined) e.push(`${name}=${value}`);
  }
  return e;
}

/** An environ array as an object whose keys keep the array's order (execProg's env). */
export function envObject(environ: readonly string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const kv of environ) {
    const eq = kv.indexOf('=');
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** process.env as environ strings, in its order. */
export function environOf(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const k of Object.keys(env)) if (env[k] !== undefined) out.push(`${k}=${env[k]}`);
  return out;
}
