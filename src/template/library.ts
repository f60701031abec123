/**
 * The filters, tests and global functions templates can call: Jinja2's builtins and Ansible's
 * (ansible.builtin), with lookups. The engine (./jinja) gets these tables from ./engine.ts, so
 * ./jinja never imports the library and the library only imports ./jinja/value.ts and
 * ./jinja/callables.ts.
 */
import type { FilterTable, GlobalTable, TestTable } from './jinja/callables.ts';

export const filterTable: FilterTable = {};
export const testTable: TestTable = {};
export const globalTable: GlobalTable = {};
