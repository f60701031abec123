/**
 * TRANSITIONAL re-export: the firewall fixtures moved to test/unit/modules/firewall/fixtures.ts.
 * Kept only for role.test.ts here; delete once it imports '../modules/firewall/fixtures.ts'.
 */
export { site, SITE_POLICY } from '../modules/firewall/fixtures.ts';
