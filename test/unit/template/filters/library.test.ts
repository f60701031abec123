/**
 * The library's tables cover every filter, test and lookup ansible-core 2.14 ships (with Jinja2's
 * builtins): each name is implemented, or refused with NotSupported when called — never missing,
 * so a role using it gets an answer or a clear refusal, not "no filter named …".
 */
import { describe, expect, it } from 'vitest';
import { PyError } from '../../../../src/template/jinja/value.ts';
import { ansiblePluginFilters, ansiblePluginTests, filterTable, globalTable, testTable } from '../../../../src/template/library.ts';
import { testEnv } from './call-env.ts';

// Names listed by ansible-core 2.14's plugin loaders and jinja2.filters.FILTERS / jinja2.tests.TESTS.
const FILTERS =
  'abs attr batch capitalize center count d default dictsort e escape filesizeformat first float forceescape format groupby indent int items join last length list lower map max min pprint random reject rejectattr replace reverse round safe select selectattr slice sort string striptags sum title tojson trim truncate unique upper urlencode urlize wordcount wordwrap xmlattr b64decode b64encode basename bool checksum combinations combine comment dict2items difference dirname expanduser expandvars extract fileglob flatten from_json from_yaml from_yaml_all hash human_readable human_to_bytes intersect items2dict log mandatory md5 password_hash path_join permutations pow product quote realpath regex_escape regex_findall regex_replace regex_search rekey_on_member relpath root sha1 shuffle split splitext strftime subelements symmetric_difference ternary to_datetime to_json to_nice_json to_nice_yaml to_uuid to_yaml type_debug union unvault urldecode urlsplit vault win_basename win_dirname win_splitdrive zip zip_longest';
const TESTS =
  '!= < <= == > >= boolean callable defined divisibleby eq equalto escaped even false filter float ge greaterthan gt in integer iterable le lessthan lower lt mapping ne none number odd sameas sequence string test true undefined upper abs all any change changed contains directory exists failed failure falsy file finished is_abs is_dir is_file is_link is_mount is_same_file isnan issubset issuperset link link_exists match mount nan reachable regex same_file search skip skipped started subset succeeded success successful superset truthy unreachable uri url urn vault_encrypted version version_compare';
const LOOKUPS =
  'config csvfile dict env file fileglob first_found indexed_items ini inventory_hostnames items lines list nested password pipe random_choice sequence subelements template together unvault url varnames vars';

// The names ansible-core 2.14's filter_loader and test_loader know (those answer to ansible.builtin.X).
const ANSIBLE_FILTERS =
  'b64decode b64encode basename bool checksum combinations combine comment dict2items difference dirname expanduser expandvars extract fileglob flatten from_json from_yaml from_yaml_all hash human_readable human_to_bytes intersect items2dict log mandatory md5 password_hash path_join permutations pow product quote random realpath regex_escape regex_findall regex_replace regex_search rekey_on_member relpath root sha1 shuffle split splitext strftime subelements symmetric_difference ternary to_datetime to_json to_nice_json to_nice_yaml to_uuid to_yaml type_debug union unique unvault urldecode urlsplit vault win_basename win_dirname win_splitdrive zip zip_longest';
const ANSIBLE_TESTS =
  'abs all any change changed contains directory exists failed failure falsy file finished is_abs is_dir is_file is_link is_mount is_same_file isnan issubset issuperset link link_exists match mount nan reachable regex same_file search skip skipped started subset succeeded success successful superset truthy unreachable uri url urn vault_encrypted version version_compare';

describe('the library covers ansible-core 2.14', () => {
  it('knows which names are Ansible plugins (ansible.builtin.X), the rest being Jinja2 builtins', () => {
    expect([...ansiblePluginFilters].sort()).toEqual(ANSIBLE_FILTERS.split(' ').sort());
    expect([...ansiblePluginTests].sort()).toEqual(ANSIBLE_TESTS.split(' ').sort());
  });

  it('has every filter', () => {
    expect(FILTERS.split(' ').filter((n) => !(n in filterTable))).toEqual([]);
  });

  it('has every test', () => {
    expect(TESTS.split(' ').filter((n) => !(n in testTable))).toEqual([]);
  });

  it('has the Ansible globals', () => {
    expect(Object.keys(globalTable).sort()).toEqual(['lookup', 'now', 'q', 'query', 'undef']);
  });

  it('answers every lookup plugin: a result, or a refusal naming it', () => {
    const env = testEnv({ lookup: { searchPaths: () => [], env: {}, projectDir: '/nonexistent' } });
    for (const name of LOOKUPS.split(' ')) {
      try {
        env.global('query', [name]);
      } catch (e) {
        expect(e, name).toBeInstanceOf(PyError);
        // Either the plugin ran and failed on the empty terms, or Kiln refuses it by name.
        if ((e as PyError).pyType === 'NotSupported') expect((e as PyError).message).toContain(`'${name}'`);
      }
    }
  });

  it('refuses what it does not implement with NotSupported, by name', () => {
    const env = testEnv();
    for (const name of ['urlize', 'vault', 'unvault', 'win_basename', 'win_dirname', 'win_splitdrive']) {
      expect(() => env.filter(name, 'x'), name).toThrow(
        expect.objectContaining({ pyType: 'NotSupported', message: expect.stringContaining(`'${name}'`) }),
      );
    }
    for (const name of ['escaped', 'finished', 'started', 'vault_encrypted']) {
      expect(() => env.test(name, new Map()), name).toThrow(expect.objectContaining({ pyType: 'NotSupported' }));
    }
  });
});
