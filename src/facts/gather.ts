/**
 * gather_facts and the setup module: Kiln's `facts` and Ansible's facts, gathered by one script
 * in one round trip (Kiln's key=value part first, then Ansible's framed sections).
 */
import { collectorsFor } from '../input/playbook/gather-subset.ts';
import { ansibleFactsScript } from '../modules/system/facts/script.ts';
import { parseAnsibleFacts } from '../modules/system/facts/parse.ts';
import { FACTS_SCRIPT, type Facts, parseFacts } from './facts.ts';

export interface GatherSpec {
  /** Ansible's gather_subset (default ['all']). */
  gatherSubset?: string[];
  /** Seconds (default 10). */
  gatherTimeout?: number;
  /** Default /etc/ansible/facts.d. */
  factPath?: string;
  /** Kiln's own `facts` too (gather_facts does; the setup module does not). */
  kiln?: boolean;
}

/** The script that gathers both. */
export function gatherScript(spec: GatherSpec): string {
  const collectors = collectorsFor(spec.gatherSubset ?? ['all']);
  const ansible = ansibleFactsScript({ collectors, factPath: spec.factPath, timeout: spec.gatherTimeout });
  return spec.kiln === false ? ansible : `${FACTS_SCRIPT}\n${ansible}`;
}

/** Its output: Kiln's `facts` and Ansible's (`ansible_`-prefixed, as the setup module returns them). */
export function parseGathered(stdout: string, spec: GatherSpec): { kiln: Facts; ansible: Record<string, unknown> } {
  const gatherSubset = spec.gatherSubset ?? ['all'];
  const cut = stdout.indexOf('\n@@kf:');
  const kiln = spec.kiln === false ? {} : parseFacts(cut < 0 ? stdout : stdout.slice(0, cut));
  const ansible = parseAnsibleFacts(stdout, { collectors: collectorsFor(gatherSubset), gatherSubset, factPath: spec.factPath });
  return { kiln, ansible };
}
