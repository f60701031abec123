import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/** Order of the e2e files: the lab's own up/down test first, then suites sharing one lab. */
const ORDER = [
  'lab.test.ts',
  'modules.test.ts',
  'front-tier.test.ts',
  'web-tier.test.ts',
  'monitoring.test.ts',
  'site.test.ts',
  'waf.test.ts',
  'data.test.ts',
  'db-firewall.test.ts',
  'firewall.test.ts',
  'faults.test.ts',
  'vip.test.ts',
];

class NamedOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const name = f.moduleId.split('/').pop()!;
      const i = ORDER.indexOf(name);
      return i === -1 ? ORDER.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

// Lab end-to-end suites: real systemd hosts in network namespaces (root + Linux).
// Files run one after another; they share one lab (test/e2e/lab-setup.ts) and one converged site.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 900000,
    hookTimeout: 1800000,
    fileParallelism: false,
    sequence: { sequencer: NamedOrder },
    pool: 'forks',
  },
});
