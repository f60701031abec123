/**
 * Ansible's `path` parameters are expanded on the host (os.path.expanduser): `~` and `~/…` become
 * the connecting user's home. `expandPath(NAME, path)` is shell that sets the variable NAME to the
 * expanded path; the module reports the expanded path, as Ansible does. Environment variables
 * (os.path.expandvars) are not expanded: a path holding `$` is refused by the schemas' pattern.
 */
import { q } from '../../sh/quote.ts';

/** Shell: `NAME=<path, ~ expanded>`. */
export function expandPath(name: string, path: string): string {
  return `${name}=${q(path)}; case $${name} in '~'|'~/'*) ${name}="$HOME\${${name}#?}";; esac\n`;
}

/** The schema pattern of a path Kiln expands like Ansible: no `$` (Ansible would expand variables), no `~user`. */
export const PATH_PATTERN = '^(?!~[^/])[^$]*$';
