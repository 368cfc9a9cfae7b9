// Account look-ups over the text of a passwd and a group file, as the C
// library's "files" service reads them: the fallback of src/users/lookup.ts
// when the addon is absent, and the accounts a unit test makes up.

/** The three questions every tool asks of the account databases. */
export interface Accounts {
  /** uid and gid of a user; undefined when unknown. */
  getpwnam(name: string): { uid: number; gid: number } | undefined;
  /** gid of a group; undefined when unknown. */
  getgrnam(name: string): number | undefined;
  /** initgroups(3)'s list: gid, then every group listing user as a member, each once. */
  getgrouplist(user: string, gid: number): number[];
}

const numeric = /^\d+$/;

/** The fields of name's line (name, password, id, and at least one more field). */
export function entryOf(text: string, name: string): string[] | undefined {
  if (name === '') return undefined;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4 && numeric.test(f[2])) return f;
  }
  return undefined;
}

/** passwd's uid and gid of a line's fields; undefined when the gid is not a number. */
export function passwdOf(f: string[] | undefined): { uid: number; gid: number } | undefined {
  return f === undefined || !numeric.test(f[3]) ? undefined : { uid: Number(f[2]), gid: Number(f[3]) };
}

/** The groups whose member list names user, in file order, gid first, each once. */
export function groupListOf(groupText: string, user: string, gid: number): number[] {
  const out = [gid];
  for (const line of groupText.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !numeric.test(f[2])) continue;
    const g = Number(f[2]);
    if (!out.includes(g) && f[3].split(',').includes(user)) out.push(g);
  }
  return out;
}

/** Accounts from a passwd and a group file's text. */
export function textAccounts(passwd: string, group: string): Accounts {
  return {
    getpwnam: (name) => passwdOf(entryOf(passwd, name)),
    getgrnam: (name) => {
      const f = entryOf(group, name);
      return f === undefined ? undefined : Number(f[2]);
    },
    getgrouplist: (user, gid) => groupListOf(group, user, gid),
  };
}
