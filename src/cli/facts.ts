/** `kiln facts HOST`. */
import { EXIT, InputError } from '../core/diagnostic.ts';
import { parseFacts, FACTS_SCRIPT } from '../facts/facts.ts';
import { gatherScript, parseGathered } from '../facts/gather.ts';
import { BadSubsetError, collectorsFor, subsetList } from '../input/playbook/gather-subset.ts';
import { loadInventory } from '../input/inventory/index.ts';
import type { VaultOptions } from '../core/secret/vault.ts';
import type { HostConnection } from '../transport/ssh/connection.ts';
import { sshTransport } from '../transport/ssh/factory.ts';
import { loadSshConfig } from '../transport/ssh/sshconfig.ts';
import { connectionProblems } from '../transport/ssh/preflight.ts';

export async function runFacts(
  host: string,
  opts: { inventory: string[]; acceptNewHostKeys: boolean; ansible?: boolean; gatherSubset?: string } & VaultOptions,
): Promise<number> {
  const gatherSubset = opts.gatherSubset === undefined ? undefined : subsetList(opts.gatherSubset);
  if (gatherSubset) {
    try {
      collectorsFor(gatherSubset);
    } catch (err) {
      if (err instanceof BadSubsetError) throw new InputError({ file: '--gather-subset', message: err.message });
      throw err;
    }
  }
  const { inventory } = loadInventory(opts.inventory, { vaultPassword: opts.vaultPassword });
  if (!inventory.hosts.has(host)) throw new InputError({ file: inventory.file, message: `no host named '${host}' in the inventory` });
  const sshConfig = loadSshConfig();
  const problems = connectionProblems(inventory, [host], { sshConfig, acceptNewHostKeys: opts.acceptNewHostKeys });
  if (problems.length) throw new InputError(problems);
  const ssh = sshTransport(inventory, { sshConfig, acceptNewHostKeys: opts.acceptNewHostKeys });
  const spec = ssh.spec(host);
  let conn: HostConnection;
  try {
    conn = await ssh.open(host);
  } catch (err) {
    console.error(`${host}: unreachable: ${(err as Error).message}`);
    return EXIT.hostFailed;
  }
  try {
    if (opts.ansible) {
      // Asked for by name: printed as `ansible HOST -m setup` prints them (ansible_env included).
      const gather = { gatherSubset, kiln: false };
      const r = await conn.run(gatherScript(gather));
      console.log(JSON.stringify({ ansible_facts: parseGathered(r.stdout, gather).ansible, round_trips: conn.roundTrips }, null, 2));
      return r.code === 0 ? EXIT.ok : EXIT.hostFailed;
    }
    const r = await conn.run(FACTS_SCRIPT);
    const facts = { host, address: spec.host, ...parseFacts(r.stdout), round_trips: conn.roundTrips };
    console.log(JSON.stringify(facts, null, 2));
    return r.code === 0 ? EXIT.ok : EXIT.hostFailed;
  } finally {
    conn.close();
  }
}
