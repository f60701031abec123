/**
 * roles/waf: the argument schema refuses values that would break or inject into the ModSecurity
 * configuration; the rules file, the nginx drop-in and the mtail program render as intended. The
 * lab runs them through `nginx -t`, a real nginx with ModSecurity, mtail and Prometheus
 * (test/e2e/waf.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTemplate, renderValue } from '../../src/template/engine.ts';
import { loadRoleYaml, ROLES_DIR, roleValidator } from '../helpers/roles.ts';

const defaults = renderValue(loadRoleYaml('waf', 'defaults/main.yml'), {}) as Record<string, unknown>;
const render = (tpl: string, over: Record<string, unknown> = {}) => {
  const file = join(ROLES_DIR, 'waf', 'templates', tpl);
  return renderTemplate(readFileSync(file, 'utf8'), { ...defaults, ...over }, file);
};

describe('waf variables', () => {
  const v = roleValidator('waf');
  const ok = (over: Record<string, unknown>) => v({ ...defaults, ...over });
  it('mode, paranoia level and thresholds are bounded', () => {
    expect(ok({ waf_mode: 'detection_only' })).toBe(true);
    expect(ok({ waf_mode: 'On' })).toBe(false);
    expect(ok({ waf_paranoia_level: 4 })).toBe(true);
    expect(ok({ waf_paranoia_level: 0 })).toBe(false);
    expect(ok({ waf_paranoia_level: 5 })).toBe(false);
    expect(ok({ waf_inbound_anomaly_threshold: 0 })).toBe(false);
    expect(ok({ waf_outbound_anomaly_threshold: '4' })).toBe(false);
    expect(ok({ waf_request_body_limit: -1 })).toBe(false);
  });
  it('methods, content types and exclusions cannot inject into the rules file', () => {
    expect(ok({ waf_allowed_methods: ['GET', 'PUT'] })).toBe(true);
    expect(ok({ waf_allowed_methods: ['GET', 'FOO'] })).toBe(false);
    expect(ok({ waf_allowed_methods: [] })).toBe(false);
    expect(ok({ waf_allowed_content_types: ['application/json', 'application/csp-report'] })).toBe(true);
    expect(ok({ waf_allowed_content_types: ['application/json\' "id:1'] })).toBe(false);
    expect(ok({ waf_allowed_content_types: ['application/json; charset=utf-8'] })).toBe(false);
    expect(
      ok({
        waf_exclusions: [
          { path: '/items', rule_ids: [942100] },
          { path: '/api/', tags: ['attack-sqli'] },
        ],
      }),
    ).toBe(true);
    expect(ok({ waf_exclusions: [{ path: '/items' }] })).toBe(false);
    expect(ok({ waf_exclusions: [{ path: 'items', rule_ids: [942100] }] })).toBe(false);
    expect(ok({ waf_exclusions: [{ path: '/x" "id:1,phase:1,allow', rule_ids: [942100] }] })).toBe(false);
    expect(ok({ waf_exclusions: [{ path: '/x', rule_ids: ['942100,ctl:ruleEngine=Off'] }] })).toBe(false);
    expect(ok({ waf_exclusions: [{ path: '/x', tags: ['a,ctl:ruleEngine=Off'] }] })).toBe(false);
    expect(ok({ waf_exclusions: [{ path: '/x', rule_ids: [942100], rule: 1 }] })).toBe(false);
  });
});

describe('waf rules file (/etc/nginx/kiln-waf/modsecurity.conf)', () => {
  const line = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));
  it('blocking by default, CRS 3.3.4 setup from the variables, anomaly scoring (pass by default), the CRS included last', () => {
    const t = render('modsecurity.conf.j2');
    expect(line(t, /^SecRuleEngine /)).toEqual(['SecRuleEngine On']);
    expect(line(t, /^SecDefaultAction /)).toEqual([
      'SecDefaultAction "phase:1,log,auditlog,pass"',
      'SecDefaultAction "phase:2,log,auditlog,pass"',
    ]);
    expect(t).toContain('setvar:tx.paranoia_level=1"');
    expect(t).toContain('setvar:tx.inbound_anomaly_score_threshold=5,setvar:tx.outbound_anomaly_score_threshold=4"');
    expect(t).toContain("setvar:'tx.allowed_methods=GET HEAD POST OPTIONS'");
    expect(t).toContain(
      "setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |text/plain| |application/json|'",
    );
    expect(t).toContain('setvar:tx.crs_setup_version=334');
    expect(line(t, /^SecRequestBody(No)?(Files)?Limit /)).toEqual(['SecRequestBodyLimit 13107200', 'SecRequestBodyNoFilesLimit 131072']);
    expect(t.trimEnd().split('\n').at(-1)).toBe('Include /usr/share/modsecurity-crs/rules/*.conf');
    // The load balancers' bare HTTP/1.0 checks of the health endpoint: no Host, no User-Agent.
    expect(line(t, /^SecRule REQUEST_FILENAME/)).toEqual([
      'SecRule REQUEST_FILENAME "@beginsWith /health" "id:1001,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=920280,ctl:ruleRemoveById=920320"',
    ]);
  });
  it('detection_only, paranoia, thresholds and exclusions per path', () => {
    const t = render('modsecurity.conf.j2', {
      waf_mode: 'detection_only',
      waf_paranoia_level: 3,
      waf_inbound_anomaly_threshold: 10,
      waf_allowed_methods: ['GET', 'PUT'],
      waf_exclusions: [
        { path: '/items', rule_ids: [942100, 942320] },
        { path: '/api/', tags: ['attack-sqli'], rule_ids: [932115] },
      ],
    });
    expect(line(t, /^SecRuleEngine /)).toEqual(['SecRuleEngine DetectionOnly']);
    expect(t).toContain('setvar:tx.paranoia_level=3"');
    expect(t).toContain('setvar:tx.inbound_anomaly_score_threshold=10,');
    expect(t).toContain("setvar:'tx.allowed_methods=GET PUT'");
    expect(line(t, /^SecRule REQUEST_FILENAME/)).toEqual([
      'SecRule REQUEST_FILENAME "@beginsWith /items" "id:1001,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=942100,ctl:ruleRemoveById=942320"',
      'SecRule REQUEST_FILENAME "@beginsWith /api/" "id:1002,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=932115,ctl:ruleRemoveByTag=attack-sqli"',
    ]);
    // Exclusions come before the CRS (they must run before the rules they remove).
    expect(t.indexOf('id:1002')).toBeLessThan(t.indexOf('Include /usr/share/modsecurity-crs'));
  });
});

describe('nginx drop-in and mtail', () => {
  it('the drop-in turns ModSecurity on and logs matched rules (info) to the WAF log, keeping nginx error log', () => {
    const t = render('kiln-waf.conf.j2', { waf_nginx_error_log: '/var/log/nginx/error.log' });
    expect(t.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'modsecurity on;',
      'modsecurity_rules_file /etc/nginx/kiln-waf/modsecurity.conf;',
      'error_log /var/log/nginx/error.log;',
      'error_log /var/log/nginx/modsecurity.log info;',
    ]);
  });
  it('mtail reads the WAF log on the metrics port', () => {
    expect(render('mtail.default.j2')).toMatch(/^LOGS=\/var\/log\/nginx\/modsecurity\.log\nPORT=3903\nHOST=$/m);
    const prog = render('kiln-waf.mtail.j2');
    for (const m of ['waf_blocked_requests_total', 'waf_detected_requests_total', 'waf_rule_matches_total by rule_id'])
      expect(prog).toContain(`counter ${m}`);
  });
});

describe('waf-validate: a candidate is checked by nginx -t together with the live nginx.conf', () => {
  // A stand-in /etc/nginx and a stand-in nginx that prints what `nginx -t -c FILE` would read.
  const dir = mkdtempSync(join(tmpdir(), 'kiln-waf-validate-'));
  const etc = join(dir, 'etc');
  const bin = join(dir, 'bin');
  mkdirSync(join(etc, 'conf.d'), { recursive: true });
  mkdirSync(bin);
  const live = (include: boolean) =>
    writeFileSync(
      join(etc, 'nginx.conf'),
      `http {\n    server { listen 8080; }\n${include ? `    include ${etc}/conf.d/*.conf;\n` : ''}}\n`,
    );
  writeFileSync(join(etc, 'conf.d', 'other.conf'), '# another role\n');
  writeFileSync(join(etc, 'conf.d', 'kiln-waf.conf'), 'modsecurity_rules_file /live/rules.conf;\n');
  writeFileSync(
    join(bin, 'nginx'),
    [
      '#!/bin/sh',
      'conf=$4',
      'echo "args: $*"',
      'cat "$conf"',
      'inc=$(sed -n "s/.*include \\(.*\\)\\/\\*\\.conf;.*/\\1/p" "$conf")',
      'for f in "$inc"/*.conf; do echo "== $(basename "$f")"; cat "$f"; done',
      'echo "$inc" > "$STUB_SEEN"',
      'exit ${STUB_EXIT:-0}',
    ].join('\n'),
  );
  chmodSync(join(bin, 'nginx'), 0o755);
  const run = (args: string[], env: Record<string, string> = {}) => {
    const seen = join(dir, 'seen');
    const r = spawnSync('sh', [join(ROLES_DIR, 'waf/files/waf-validate.sh'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WAF_VALIDATE_ETC: etc, STUB_SEEN: seen, ...env },
    });
    const tmpConfd = existsSync(seen) ? readFileSync(seen, 'utf8').trim() : '';
    return { code: r.status, out: `${r.stdout}${r.stderr}`, tmpConfd };
  };

  it('rules: the live nginx.conf, with conf.d copied and kiln-waf.conf loading the candidate', () => {
    live(true);
    const r = run(['rules', '/etc/nginx/kiln-waf/.kiln.modsecurity.conf.Ab12']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^args: -t -q -c \/tmp\/kiln-waf-check\.\w+\/nginx\.conf$/m);
    expect(r.out).toContain('server { listen 8080; }');
    expect(r.out).toContain(`include ${r.tmpConfd}/*.conf;`);
    expect(r.out).not.toContain(`include ${etc}/conf.d/*.conf;`);
    expect(r.out).toContain('== other.conf\n# another role');
    expect(r.out).toContain('== kiln-waf.conf\nmodsecurity on;\nmodsecurity_rules_file /etc/nginx/kiln-waf/.kiln.modsecurity.conf.Ab12;');
    expect(r.out).not.toContain('/live/rules.conf');
    // The temporary tree is gone; the live files are untouched.
    expect(existsSync(r.tmpConfd)).toBe(false);
    expect(readFileSync(join(etc, 'conf.d', 'kiln-waf.conf'), 'utf8')).toBe('modsecurity_rules_file /live/rules.conf;\n');
  });

  it('snippet: the candidate drop-in replaces the live one; nginx refusing fails the validation', () => {
    live(true);
    const cand = join(dir, 'candidate.conf');
    writeFileSync(cand, 'modsecurity on;\nmodsecurity_rules_file /etc/nginx/kiln-waf/modsecurity.conf;\n');
    const r = run(['snippet', cand]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('== kiln-waf.conf\nmodsecurity on;\nmodsecurity_rules_file /etc/nginx/kiln-waf/modsecurity.conf;');
    expect(run(['snippet', cand], { STUB_EXIT: '1' }).code).toBe(1);
    expect(run(['bogus', cand]).code).toBe(2);
  });

  it('refuses when the live nginx.conf does not include conf.d (the WAF would not be loaded)', () => {
    live(false);
    const r = run(['rules', '/x.conf']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('does not include');
    expect(r.out).not.toContain('args:');
  });
});
