/**
 * The filters, tests and global functions templates can call: Jinja2's builtins and Ansible's
 * (ansible.builtin, 2.14), with lookups. The engine (./jinja) gets these tables from ./engine.ts, so
 * ./jinja never imports the library; the library imports ./jinja's value model, calling
 * convention and conversions.
 *
 * Where Ansible and Jinja2 both define a name, Ansible's wins (`unique`, `random`), as Ansible's
 * plugin loader gives its own filters precedence.
 */
import type { FilterTable, GlobalTable, TestTable } from './jinja/callables.ts';
import { ansibleCryptoFilters } from './filters/ansible-crypto.ts';
import { ansibleDataFilters } from './filters/ansible-data.ts';
import { ansibleMathFilters } from './filters/ansible-math.ts';
import { ansiblePathFilters } from './filters/ansible-paths.ts';
import { ansibleRegexFilters } from './filters/ansible-regex.ts';
import { ansibleSerialFilters } from './filters/ansible-serial.ts';
import { ansibleTimeFilters } from './filters/ansible-time.ts';
import { ansibleUrlFilters } from './filters/ansible-urls.ts';
import { jinjaListFilters } from './filters/jinja-lists.ts';
import { jinjaSelectFilters } from './filters/jinja-select.ts';
import { jinjaTextFilters } from './filters/jinja-text.ts';
import { jinjaValueFilters } from './filters/jinja-values.ts';
import { ansibleGlobals } from './lookups/globals.ts';
import { ansibleTests } from './tests/ansible.ts';
import { jinjaTests } from './tests/jinja.ts';

/** Marks a table's entries as Ansible plugins (they answer to ansible.builtin.X). */
function plugins<T extends FilterTable | TestTable>(table: T): T {
  return Object.fromEntries(Object.entries(table).map(([k, reg]) => [k, { ...reg, plugin: true }])) as T;
}

const ansibleFilters: FilterTable = plugins({
  ...ansibleDataFilters,
  ...ansibleMathFilters,
  ...ansibleRegexFilters,
  ...ansiblePathFilters,
  ...ansibleCryptoFilters,
  ...ansibleSerialFilters,
  ...ansibleTimeFilters,
  ...ansibleUrlFilters,
});

export const filterTable: FilterTable = {
  ...jinjaValueFilters,
  ...jinjaTextFilters,
  ...jinjaListFilters,
  ...jinjaSelectFilters,
  ...ansibleFilters,
};

export const testTable: TestTable = { ...jinjaTests, ...plugins(ansibleTests) };

/**
 * The filters and tests Ansible ships as plugins: only these answer to `ansible.builtin.X` and
 * `ansible.legacy.X` (`'x' | ansible.builtin.to_json` works, `'x' | ansible.builtin.upper` is
 * "Could not load" in Ansible: Jinja2's own filters and tests have no collection name).
 */
export const ansiblePluginFilters: ReadonlySet<string> = new Set(Object.keys(ansibleFilters));
export const ansiblePluginTests: ReadonlySet<string> = new Set(Object.keys(ansibleTests));

export const globalTable: GlobalTable = { ...ansibleGlobals };
