/** Every role in roles/: documented prose, every variable typed, described and defaulted, defaults valid. */
import { readdirSync } from 'node:fs';
import { describe, it } from 'vitest';
import { expectRoleDocumented, ROLES_DIR } from '../helpers/roles.ts';

const roles = readdirSync(ROLES_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

describe.each(roles)('role %s', (role) => {
  it('documents the role and every variable, and its defaults satisfy the schema', () => expectRoleDocumented(role));
});
