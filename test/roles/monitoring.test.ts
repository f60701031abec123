/**
 * roles/node_exporter, roles/monitoring and roles/nginx_exporter: defaults match their argument
 * schemas; prometheus.yml, the recording rules and the flag files render as intended from an
 * inventory (the lab e2e then runs them through promtool and a real Prometheus).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderTemplate, renderValue } from '../../src/template/engine.ts';
import { loadRoleYaml as load, ROLES_DIR as ROLES, roleValidator as validator } from '../helpers/roles.ts';

const render = (role: string, tpl: string, vars: Record<string, unknown>) => {
  const file = join(ROLES, role, 'templates', tpl);
  return renderTemplate(readFileSync(file, 'utf8'), vars, file);
};

describe('variable checks', () => {
  it('node_exporter: upstream needs a URL and a SHA-256; types are enforced', () => {
    const v = validator('node_exporter');
    const d = load('node_exporter', 'defaults/main.yml');
    expect(v({ ...d, node_exporter_port: '9100' })).toBe(false);
    expect(v({ ...d, node_exporter_install: 'tarball' })).toBe(false);
    expect(v({ ...d, node_exporter_install: 'upstream' })).toBe(false);
    expect(
      v({
        ...d,
        node_exporter_install: 'upstream',
        node_exporter_url: 'https://h.example/node_exporter-1.8.2.linux-amd64.tar.gz',
        node_exporter_sha256: 'abc',
      }),
    ).toBe(false);
    expect(
      v({
        ...d,
        node_exporter_install: 'upstream',
        node_exporter_url: 'https://h.example/node_exporter-1.8.2.linux-amd64.tar.gz',
        node_exporter_sha256: 'a'.repeat(64),
      }),
    ).toBe(true);
    expect(v({ ...d, node_exporter_args: ['--collector.systemd'] })).toBe(true);
    expect(v({ ...d, node_exporter_args: ['--x="$(reboot)"'] })).toBe(false);
  });
  it('monitoring: durations and sizes are Prometheus syntax', () => {
    const v = validator('monitoring');
    const d = load('monitoring', 'defaults/main.yml');
    expect(v({ ...d, prometheus_scrape_interval: '5s', prometheus_retention_time: '30d', prometheus_retention_size: '20GB' })).toBe(true);
    expect(v({ ...d, prometheus_scrape_interval: 5 })).toBe(false);
    expect(v({ ...d, prometheus_retention_time: '30 days' })).toBe(false);
    expect(v({ ...d, prometheus_retention_size: '20G' })).toBe(false);
    expect(v({ ...d, prometheus_extra_scrape_configs: [{ static_configs: [] }] })).toBe(false);
  });
});

describe('prometheus.yml from the inventory', () => {
  const defaults = load('monitoring', 'defaults/main.yml');
  const hosts = { lb1: '10.77.0.11', lb2: '10.77.0.12', web1: '10.77.0.21', web2: '10.77.0.22', db1: '10.77.0.31', mon1: '10.77.0.41' };
  const vars = (over: Record<string, unknown> = {}) => ({
    ...defaults,
    inventory_hostname: 'mon1',
    groups: { all: Object.keys(hosts).sort(), lb: ['lb1', 'lb2'], web: ['web1', 'web2'], monitoring: ['mon1'] },
    hostvars: Object.fromEntries(Object.entries(hosts).map(([h, a]) => [h, { address: a }])),
    ...over,
  });
  type Cfg = {
    global: Record<string, unknown>;
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[]; labels: { instance: string } }[] }[];
  };
  const cfg = (over?: Record<string, unknown>) => parse(render('monitoring', 'prometheus.yml.j2', vars(over))) as Cfg;
  const targets = (c: Cfg, job: string) =>
    c.scrape_configs.find((j) => j.job_name === job)?.static_configs.map((s) => `${s.labels.instance}=${s.targets.join(',')}`);

  it("scrapes every host's node_exporter, HAProxy on lb, the nginx exporter and the WAF's mtail on web; instance = inventory name", () => {
    const c = cfg();
    expect(c.global).toEqual({ scrape_interval: '15s', evaluation_interval: '15s' });
    expect(c.rule_files).toEqual(['/etc/prometheus/rules.d/*.rules.yml']);
    expect(c.scrape_configs.map((j) => j.job_name)).toEqual(['prometheus', 'node', 'haproxy', 'nginx', 'waf']);
    expect(targets(c, 'node')).toEqual(
      Object.entries(hosts)
        .sort()
        .map(([h, a]) => `${h}=${a}:9100`),
    );
    expect(targets(c, 'haproxy')).toEqual(['lb1=10.77.0.11:8405', 'lb2=10.77.0.12:8405']);
    expect(c.scrape_configs.find((j) => j.job_name === 'haproxy')!.metrics_path).toBe('/metrics');
    expect(targets(c, 'nginx')).toEqual(['web1=10.77.0.21:9113', 'web2=10.77.0.22:9113']);
    expect(targets(c, 'waf')).toEqual(['web1=10.77.0.21:3903', 'web2=10.77.0.22:3903']);
    // The WAF's counters carry the tier (the group) next to the inventory name.
    expect(c.scrape_configs.find((j) => j.job_name === 'waf')!.static_configs.map((s) => s.labels)).toEqual([
      { instance: 'web1', tier: 'web' },
      { instance: 'web2', tier: 'web' },
    ]);
    expect(targets(c, 'prometheus')).toEqual(['mon1=localhost:9090']);
  });

  it('honours per-host ports from the inventory, a host without address, and missing groups', () => {
    const hv = vars().hostvars as Record<string, Record<string, unknown>>;
    const c = cfg({
      groups: { all: ['db1', 'lb1', 'odd'], lb: ['lb1'] },
      hostvars: {
        ...hv,
        db1: { address: '10.77.0.31', node_exporter_port: 19100 },
        lb1: { address: '10.77.0.11', haproxy_metrics_port: 9101 },
        odd: {},
      },
    });
    // No web group: neither the nginx nor the waf job.
    expect(c.scrape_configs.map((j) => j.job_name)).toEqual(['prometheus', 'node', 'haproxy']);
    expect(targets(c, 'node')).toEqual(['db1=10.77.0.31:19100', 'lb1=10.77.0.11:9100', 'odd=odd:9100']);
    expect(targets(c, 'haproxy')).toEqual(['lb1=10.77.0.11:9101']);
  });

  it('intervals, timeout, external labels and extra jobs', () => {
    const c = cfg({
      prometheus_scrape_interval: '5s',
      prometheus_evaluation_interval: '5s',
      prometheus_scrape_timeout: '4s',
      prometheus_external_labels: { site: 'eu1', replica: 2 },
      prometheus_extra_scrape_configs: [{ job_name: 'mysqld', static_configs: [{ targets: ['db1:9104'] }] }],
    });
    expect(c.global).toEqual({
      scrape_interval: '5s',
      scrape_timeout: '4s',
      evaluation_interval: '5s',
      external_labels: { replica: 2, site: 'eu1' },
    });
    expect(c.scrape_configs.at(-1)).toEqual({ job_name: 'mysqld', static_configs: [{ targets: ['db1:9104'] }] });
  });
});

describe('recording rules', () => {
  const defaults = load('monitoring', 'defaults/main.yml');
  type Rules = { groups: { name: string; rules: { record: string; expr: string }[] }[] };
  const rules = (over: Record<string, unknown> = {}) =>
    (parse(render('monitoring', 'frontend.rules.yml.j2', { ...defaults, ...over })) as Rules).groups[0]!.rules;

  it('frontend QPS per LB and frontend, per frontend, site-wide without the exporter frontends; WAF blocks next to it', () => {
    const r = Object.fromEntries(rules().map((x) => [x.record, x.expr]));
    expect(r).toEqual({
      'instance_proxy:haproxy_frontend_http_requests:rate1m':
        'sum by (instance, proxy) (rate(haproxy_frontend_http_requests_total{job="haproxy"}[1m]))',
      'job:haproxy_frontend_http_requests:rate1m': 'sum by (job, proxy) (rate(haproxy_frontend_http_requests_total{job="haproxy"}[1m]))',
      'site:haproxy_frontend_http_requests:rate1m':
        'sum(rate(haproxy_frontend_http_requests_total{job="haproxy",proxy!~"prometheus|stats|alive"}[1m]))',
      'instance:nginx_http_requests:rate1m': 'sum by (instance) (rate(nginx_http_requests_total{job="nginx"}[1m]))',
      'site:nginx_http_requests:rate1m': 'sum(rate(nginx_http_requests_total{job="nginx"}[1m]))',
      'instance:waf_blocked:rate1m': 'sum by (instance, tier) (rate(waf_blocked_requests_total{job="waf"}[1m]))',
      'tier:waf_blocked:rate1m': 'sum by (tier) (rate(waf_blocked_requests_total{job="waf"}[1m]))',
      'site:waf_blocked:rate1m': 'sum(rate(waf_blocked_requests_total{job="waf"}[1m]))',
    });
  });
  it('an empty exclusion list counts every frontend', () => {
    expect(rules({ prometheus_qps_exclude_frontends: [] }).find((x) => x.record.startsWith('site:haproxy'))!.expr).toBe(
      'sum(rate(haproxy_frontend_http_requests_total{job="haproxy"}[1m]))',
    );
  });
});

describe('flag files', () => {
  const args = (text: string) => /^ARGS="(.*)"$/m.exec(text)?.[1];
  it('node_exporter: listen address, port and extra flags, for the Debian package and the upstream unit', () => {
    const v = {
      ...load('node_exporter', 'defaults/main.yml'),
      node_exporter_listen_address: '10.77.0.21',
      node_exporter_args: ['--collector.systemd'],
    };
    expect(args(render('node_exporter', 'prometheus-node-exporter.default.j2', v))).toBe(
      '--web.listen-address=10.77.0.21:9100 --collector.systemd',
    );
    expect(args(render('node_exporter', 'prometheus-node-exporter.default.j2', load('node_exporter', 'defaults/main.yml')))).toBe(
      '--web.listen-address=:9100',
    );
    const unit = render('node_exporter', 'node_exporter.service.j2', {
      ...v,
      node_exporter_url: 'https://h.example/node_exporter-1.8.2.linux-amd64.tar.gz',
    });
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/node_exporter --web.listen-address=10.77.0.21:9100 --collector.systemd$/m);
    expect(unit).toMatch(/^User=node_exporter$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
  });
  it('prometheus: config, listen address, storage and retention', () => {
    const d = load('monitoring', 'defaults/main.yml');
    expect(args(render('monitoring', 'prometheus.default.j2', d))).toBe(
      '--config.file=/etc/prometheus/prometheus.yml --web.listen-address=:9090 --storage.tsdb.path=/var/lib/prometheus/metrics2 --storage.tsdb.retention.time=15d',
    );
    expect(
      args(
        render('monitoring', 'prometheus.default.j2', {
          ...d,
          prometheus_retention_size: '20GB',
          prometheus_extra_args: ['--web.enable-admin-api'],
        }),
      ),
    ).toMatch(/ --storage.tsdb.retention.size=20GB --web.enable-admin-api$/);
  });
  it('nginx exporter: scrape URI, listen address and start-up retries', () => {
    // The default URI follows the nginx role's stub_status server (its variables when present).
    const d = load('nginx_exporter', 'defaults/main.yml');
    const vars = (extra: Record<string, unknown>) => ({ ...d, nginx_exporter_scrape_uri: renderValue(d.nginx_exporter_scrape_uri, extra) });
    expect(args(render('nginx_exporter', 'prometheus-nginx-exporter.default.j2', vars({})))).toBe(
      '-nginx.scrape-uri=http://127.0.0.1:8081/stub_status -web.listen-address=:9113 -nginx.retries=10 -nginx.retry-interval=5s',
    );
    const nginxDefaults = load('nginx', 'defaults/main.yml');
    expect(renderValue(d.nginx_exporter_scrape_uri, nginxDefaults)).toBe(
      `http://127.0.0.1:${nginxDefaults.nginx_status_port}${nginxDefaults.nginx_status_path}`,
    );
    expect(renderValue(d.nginx_exporter_scrape_uri, { nginx_status_port: 9000, nginx_status_path: '/s' })).toBe('http://127.0.0.1:9000/s');
  });
});
