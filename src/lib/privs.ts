// Giving up root after bind, in the originals' order: the supplementary
// groups, then the gid, then the uid (once the uid is dropped the others can
// no longer change). ucspi-tcp's prot_gid sets the groups to the one gid;
// ipsvd sets them to the user's whole list, its first entry the gid.

export type PrivStep = 'groups' | 'gid' | 'uid';

/**
 * gids: the supplementary groups, gids[0] the gid (none: keep both);
 * uid: none keeps it. fail gets the step that failed, for the command's own
 * wording, and must not return.
 */
export function dropPrivileges(gids: readonly number[] | undefined, uid: number | undefined,
                               fail: (step: PrivStep, e: unknown) => never): void {
  if (gids !== undefined && gids.length > 0) {
    try {
      process.setgroups!([...gids]);
    } catch (e) {
      fail('groups', e);
    }
    try {
      process.setgid!(gids[0]);
    } catch (e) {
      fail('gid', e);
    }
  }
  if (uid !== undefined) {
    try {
      process.setuid!(uid);
    } catch (e) {
      fail('uid', e);
    }
  }
}
