#!/usr/bin/env node
// Regenerates the role reference between <!-- roles:start --> and <!-- roles:end --> in
// docs/roles.md from each role's meta/argument_schema.yml (the role's description and every
// variable's type and description) and defaults/main.yml (the defaults). `--check` exits 1 when
// docs/roles.md is stale.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { updateDocSection } from './docs-section.mjs';

/** Roles in the order a reader meets them in playbooks/site.yml; others follow alphabetically. */
const ORDER = ['tls', 'haproxy', 'nginx', 'app', 'node_exporter', 'nginx_exporter', 'monitoring', 'mysql', 'firewall'];

function loadYaml(file) {
  if (!existsSync(file)) return undefined;
  // Vault/secret tags in defaults are shown as such, never decrypted here.
  const doc = parseDocument(readFileSync(file, 'utf8'), {
    customTags: [
      { tag: '!vault', resolve: () => '(vault-encrypted)' },
      { tag: '!secret', resolve: () => '(secret)' },
    ],
  });
  return doc.toJS() ?? {};
}

function typeOf(s) {
  if (!s || typeof s !== 'object') return '';
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.type === 'array') return `list of ${typeOf(s.items) || 'any'}`;
  if (Array.isArray(s.type)) return s.type.join(' \\| ');
  if (s.type) return s.type;
  if (s.oneOf || s.anyOf) return (s.oneOf ?? s.anyOf).map(typeOf).filter(Boolean).join(' \\| ');
  return 'any';
}

function cell(v) {
  if (v === undefined) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const short = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  return `\`${short.replace(/\|/g, '\\|').replace(/\n/g, ' ')}\``;
}

function oneLine(s) {
  return String(s ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

export function renderRoles(rolesDir = 'roles') {
  if (!existsSync(rolesDir)) return '';
  const names = readdirSync(rolesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort((a, b) => {
      const ia = ORDER.indexOf(a),
        ib = ORDER.indexOf(b);
      return (ia === -1 ? ORDER.length : ia) - (ib === -1 ? ORDER.length : ib) || a.localeCompare(b);
    });
  const out = [];
  for (const name of names) {
    const dir = join(rolesDir, name);
    const schema = loadYaml(join(dir, 'meta', 'argument_schema.yml')) ?? {};
    const defaults = loadYaml(join(dir, 'defaults', 'main.yml')) ?? {};
    out.push(`### Role \`${name}\``, '');
    if (schema.description) out.push(String(schema.description).trim(), '');
    const props = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    const vars = [...new Set([...Object.keys(props), ...Object.keys(defaults)])];
    if (vars.length) {
      out.push('| Variable | Type | Default | Description |', '|---|---|---|---|');
      for (const v of vars) {
        const p = props[v] ?? {};
        const def = v in defaults ? cell(defaults[v]) : required.has(v) ? '**required**' : '';
        out.push(`| \`${v}\` | ${typeOf(p)} | ${def} | ${oneLine(p.description)} |`);
      }
      out.push('');
    }
  }
  return out.join('\n').trim();
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) updateDocSection('docs/roles.md', 'roles', renderRoles(), 'role reference', 'scripts/docs-roles.mjs');
