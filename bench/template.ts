/**
 * Micro benchmark of the template engine (not a test): renders 50 different templates of ~200
 * lines each (loops, conditions, filters, a macro, Python methods, % formatting) as the template
 * module does, and prints how long that took: cold (first render, compiling each template) and
 * warm (compiled templates from the cache). Target (issue 13): a role with 50 templates renders
 * in well under a second.
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

/** One template: ~200 lines, varied by its number so every template compiles separately. */
function template(n: number): string {
  const lines: string[] = [
    `# template ${n} for {{ inventory_hostname }} — managed by Kiln`,
    '{% macro server(h, weight=1) -%}',
    '    server {{ h.name }} {{ h.address }}:{{ h.port }} weight={{ weight }}{% if not h.enabled %} disabled{% endif %}',
    '{%- endmacro %}',
    '[global]',
    `maxconn = {{ limits.maxconn * ${(n % 3) + 1} }}`,
    'timeout = {{ "%.1f" % limits.timeout }}s',
    'features = {{ features | join(", ") }}',
    'admin = {{ admin_email.split("@")[0] | upper }} at {{ admin_email.split("@")[1] }}',
  ];
  for (let block = 0; block < 12; block++) {
    lines.push(
      `[backend_${n}_${block}]`,
      `{% for h in hosts if h.port % ${block + 2} != 0 %}`,
      `{{ server(h, loop.index) }}`,
      '{% if loop.last %}',
      `# {{ loop.length }} servers in backend_${n}_${block}`,
      '{% endif %}',
      '{% endfor %}',
      '{% for k, v in settings.items() %}',
      '{% if v is not none and k.endswith("' + (block % 10) + '") %}',
      '{{ k }} = {{ v | default("unset") }}',
      '{% endif %}',
      '{% endfor %}',
      `tags = {{ hosts[${block}].tags | join(",") }} ({{ hosts[${block}].tags | length }})`,
      `retries = {{ limits.retries + ${block} }}`,
    );
  }
  while (lines.length < 200) lines.push(`# padding line ${lines.length} of template ${n}: {{ inventory_hostname }}`);
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
