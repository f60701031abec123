/** The user names Kiln passes to `sudo -u` (become_user): checked in the inventory, the playbook, and the transports. */

/**
 * A user name `become_user` may hold: letters, digits, `_`, `.`, `-` (not first), and an optional
 * final `$` (Samba machine accounts). It goes into `sudo -u NAME` (quoted), so nothing else is
 * needed; Ansible 2.14 puts become_user UNQUOTED into its sudo command line, so a value with
 * spaces or shell characters fails there (or runs what follows `;`): Kiln refuses it. `#UID` is
 * refused too: Ansible 2.14 fails on it (it chowns its temporary files to that name).
 * A number (`become_user: 1001`) is the string '1001', as in Ansible (a string field): `sudo -u
 * 1001` then looks up a user NAMED 1001 and fails if there is none, as Ansible does.
 */
export const USER_NAME_RE = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;

/** What is wrong with a user name for become_user (undefined = fine). */
export function userNameProblem(name: string): string | undefined {
  if (USER_NAME_RE.test(name)) return undefined;
  return `not a valid user name: ${JSON.stringify(name)} (letters, digits, '_', '.', '-' not first, an optional final '$'; it becomes 'sudo -u NAME')`;
}
