/**
 * A task of a module for another operating system (yum, pacman, win_service, …: OTHER_OS_MODULES
 * in keywords.ts), written with the module as its key or through `action:`. It loads as a task of
 * Kiln's `foreign` module (src/modules/system/foreign.ts), which fails wherever the task would
 * run; only the module's name is kept (its arguments are never rendered nor checked: the task
 * does not run on Debian).
 */
import type { YamlCursor } from '../yaml/document.ts';
import { otherOsModule } from './keywords.ts';
import type { TaskArgs } from './task-args.ts';
import { parseKv } from './splitter.ts';

/** The module name `action:` gives (`action: yum name=x`, `action: { module: yum }`). */
function actionModule(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : value && typeof value === 'object' ? (value as { module?: unknown }).module : undefined;
  return typeof text === 'string' ? /^\s*(\S+)/.exec(text)?.[1] : undefined;
}

/** The foreign task's arguments when `key` (a module key, or `action`) names another OS's module. */
export function foreignTaskArgs(c: YamlCursor, key: string): TaskArgs | undefined {
  const moduleKey = key === 'action' ? actionModule((c.value as Record<string, unknown>).action) : key;
  if (moduleKey === undefined || !otherOsModule(moduleKey)) return undefined;
  const at = [...c.path, key];
  return { moduleKey, module: 'foreign', params: { module: moduleKey }, paramPaths: { module: at }, modulePath: at };
}

/**
 * Options of yum and dnf that apt and package lack (ansible-doc of ansible-core 2.14). A `package`
 * task using one is a task for the Red Hat family (`enablerepo: epel` behind a `when:` on the OS):
 * on Debian, package runs apt, which refuses the option. Such a task loads as a `foreign` task
 * too, failing wherever it would run, as Ansible's does there.
 */
const YUM_DNF_ONLY_OPTIONS: readonly string[] = [
  'allowerasing',
  'bugfix',
  'cacheonly',
  'conf_file',
  'disable_excludes',
  'disable_gpg_check',
  'disable_plugin',
  'disablerepo',
  'download_dir',
  'download_only',
  'enable_plugin',
  'enablerepo',
  'exclude',
  'expire-cache',
  'install_repoquery',
  'install_weak_deps',
  'installroot',
  'list',
  'nobest',
  'releasever',
  'security',
  'skip_broken',
  'sslverify',
  'update_only',
  'use_backend',
  'validate_certs',
];

const PACKAGE_KEYS = ['package', 'ansible.builtin.package', 'ansible.legacy.package'];

/** The foreign task's arguments when a `package` task uses an option only yum and dnf have. */
export function foreignPackageArgs(c: YamlCursor, key: string): TaskArgs | undefined {
  if (!PACKAGE_KEYS.includes(key)) return undefined;
  const value = (c.value as Record<string, unknown>)[key];
  let names: string[];
  if (typeof value === 'string') {
    try {
      names = Object.keys(parseKv(value));
    } catch {
      return undefined; // the package module's own parsing reports it
    }
  } else if (value && typeof value === 'object' && !Array.isArray(value)) names = Object.keys(value);
  else return undefined;
  const option = names.find((n) => YUM_DNF_ONLY_OPTIONS.includes(n));
  if (option === undefined) return undefined;
  const at = [...c.path, key];
  return { moduleKey: key, module: 'foreign', params: { module: key, option }, paramPaths: { module: at }, modulePath: at };
}
