/**
 * Micro benchmark of the template engine (not a test): renders 50 different templates of 200
 * lines each (loops, conditions, filters, a macro, Python methods, % formatting) as the template
 * module does, and prints how long that took: cold (a fresh process's first render of each
 * template: compiling it, and the JavaScript engine warming up) and warm (compiled templates from
 * the cache). Target (issue 13): a role with 50 templates renders in well under a second.
 *
 *   node --import tsx/esm bench/template.ts [rounds]
 */
import { renderTemplate } from '../src/template/engine.ts';

const TEMPLATES = 50;
const rounds = Number(process.argv[2] ?? 20);

const hosts = Array.from({ length: 20 }, (_, i) => ({
  name: `web${i + 1}`,
  address: `10.0.${Math.floor(i / 10)}.${i + 10}`,
  port: 8000 + i,
  enabled: i % 3 !== 0,
  tags: ['a', 'b', 'c'].slice(0, (i % 3) + 1),
}));
const vars = {
  inventory_hostname: 'lb1',
  hosts,
  settings: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`option_${i}`, i % 4 === 0 ? null : `value-${i}`])),
  limits: { maxconn: 4096, timeout: 30.5, retries: 3 },
  features: ['gzip', 'http2', 'tls13'],
  admin_email: 'ops@example.org',
};

/**
 * One template of ~200 lines, like a service's configuration file: mostly text, with loops over
 * the hosts, conditions, filters, a macro, Python methods and % formatting. Varied by its number,
 * so that every template compiles separately.
 */
function template(n: number): string {
  const lines: string[] = [
    `# template ${n} for {{ inventory_hostname }} — managed by Kiln, do not edit`,
    '{% macro server(h, weight=1) -%}',
    '    server {{ h.name }} {{ h.address }}:{{ h.port }} weight={{ weight }}{% if not h.enabled %} disabled{% endif %}',
    '{%- endmacro %}',
    '[global]',
    `maxconn = {{ limits.maxconn * ${(n % 3) + 1} }}`,
    'timeout = {{ "%.1f" % limits.timeout }}s',
    'features = {{ features | join(", ") }}',
    'admin = {{ admin_email.split("@")[0] | upper }} at {{ admin_email.split("@")[1] }}',
  ];
  for (let block = 0; lines.length < 190; block++) {
    lines.push(
      '',
      `[backend_${n}_${block}]`,
      `# Backend ${block} of template ${n}: the servers of the web group whose port is not a multiple of ${block + 2}.`,
      '# Each server line is written by the macro above; disabled servers stay listed, marked disabled.',
      `balance roundrobin`,
      `option httpchk GET /health/${block}`,
      `retries {{ limits.retries + ${block} }}`,
      `{% for h in hosts if h.port % ${block + 2} != 0 %}`,
      `{{ server(h, loop.index) }}`,
      '{% endfor %}',
      `{% if settings.option_${block % 30} is not none %}`,
      `option_${block} = {{ settings.option_${block % 30} | default("unset") }}`,
      '{% else %}',
      `# option_${block} is not set`,
      '{% endif %}',
      `tags = {{ hosts[${block % 20}].tags | join(",") }}`,
      'timeout connect 5s',
      'timeout server 30s',
      'http-check expect status 200',
    );
  }
  while (lines.length < 200) lines.push(`# end of template ${n}, line ${lines.length}`);
  return `${lines.join('\n')}\n`;
}

const sources = Array.from({ length: TEMPLATES }, (_, i) => template(i));
const outputLines = (s: string) => s.split('\n').length;

/** Wall-clock and CPU milliseconds of fn (CPU time is steadier on a loaded machine). */
function time(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

let total = 0;
const cold = time(() => {
  for (let i = 0; i < TEMPLATES; i++) total += outputLines(renderTemplate(sources[i]!, vars, `bench/template-${i}.j2`));
});
const warmAll = time(() => {
  for (let r = 0; r < rounds; r++) for (let i = 0; i < TEMPLATES; i++) renderTemplate(sources[i]!, vars, `bench/template-${i}.j2`);
});
const warm = { wall: warmAll.wall / rounds, cpu: warmAll.cpu / rounds };

const templateLines = sources.reduce((n, s) => n + outputLines(s), 0);
console.log(`${TEMPLATES} templates, ${templateLines} template lines, ${total} output lines`);
console.log(`cold (first render: compile + render): ${cold.wall.toFixed(1)} ms (CPU ${cold.cpu.toFixed(1)} ms)`);
console.log(`warm (compiled, mean of ${rounds} rounds): ${warm.wall.toFixed(1)} ms (CPU ${warm.cpu.toFixed(1)} ms)`);
