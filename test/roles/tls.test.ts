/** roles/tls and roles/haproxy: defaults match their argument schemas; the HAProxy config renders as intended. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ajv } from '../../src/plan/schema.ts';
import { renderTemplate } from '../../src/template/engine.ts';

const ROLES = join(dirname(fileURLToPath(import.meta.url)), '../../roles');
const load = (role: string, file: string) => parse(readFileSync(join(ROLES, role, file), 'utf8')) as Record<string, unknown>;

describe.each(['tls', 'haproxy'])('role %s', (role) => {
  const schema = load(role, 'meta/argument_schema.yml');
  const defaults = load(role, 'defaults/main.yml');

  it('rejects a wrongly typed variable', () => {
    const validate = ajv.compile({ ...schema, description: undefined });
    const key = role === 'tls' ? 'tls_renew_before_days' : 'haproxy_backend_port';
    expect(validate({ ...defaults, [key]: 'thirty' })).toBe(false);
  });
});

describe('haproxy.cfg template', () => {
  const tpl = join(ROLES, 'haproxy/templates/haproxy.cfg.j2');
  const defaults = { ...load('haproxy', 'defaults/main.yml') };
  const vars = (over: Record<string, unknown> = {}) => ({
    ...defaults,
    groups: { web: ['web1', 'web2'], monitoring: ['mon1'], lb: ['lb1'] },
    hostvars: { web1: { address: '10.77.0.21' }, web2: { address: '10.77.0.22' }, mon1: { address: '10.77.0.41' } },
    ...over,
  });
  const render = (over?: Record<string, unknown>) => renderTemplate(readFileSync(tpl, 'utf8'), vars(over), tpl);

  it('TLS 1.2+, Mozilla intermediate, HSTS, 301, backends from the web group with health checks', () => {
    const cfg = render();
    expect(cfg).toContain('ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets');
    expect(cfg).toContain('ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256');
    expect(cfg).toMatch(/^ {4}bind :443 ssl crt \/etc\/haproxy\/certs\/site\.pem alpn h2,http\/1\.1$/m);
    expect(cfg).toContain('http-after-response set-header Strict-Transport-Security "max-age=63072000"');
    expect(cfg).toContain('http-request redirect scheme https code 301');
    expect(cfg).toContain('option httpchk GET /health');
    expect(cfg).toContain('default-server inter 2s fall 2 rise 2 on-marked-down shutdown-sessions');
    expect(cfg.match(/^ {4}server .*$/gm)).toEqual(['    server web1 10.77.0.21:8080 check', '    server web2 10.77.0.22:8080 check']);
    expect(cfg).toContain('stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners');
    expect(cfg).toContain('hard-stop-after 30s');
  });

  it('the exporter is open to the monitoring group only (deny all when it is empty)', () => {
    expect(render()).toMatch(
      /acl monitoring src 10\.77\.0\.41\n {4}http-request deny deny_status 403 unless monitoring\n {4}http-request use-service prometheus-exporter if \{ path \/metrics \}/,
    );
    expect(render({ haproxy_metrics_allow_extra: ['192.0.2.0/24'] })).toContain('acl monitoring src 10.77.0.41 192.0.2.0/24');
    const closed = render({ groups: { web: ['web1'], monitoring: [] } });
    expect(closed).not.toContain('acl monitoring');
    expect(closed).toMatch(/bind :8405\n {4}no log\n {4}http-request deny deny_status 403\n/);
  });

  it('group and port are configurable', () => {
    const cfg = render({ haproxy_backend_group: 'app', haproxy_backend_port: 9000, groups: { app: ['web2'], monitoring: ['mon1'] } });
    expect(cfg.match(/^ {4}server .*$/gm)).toEqual(['    server web2 10.77.0.22:9000 check']);
  });
});
