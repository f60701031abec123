/**
 * The roles' health gate scripts (roles/<role>/files/*-gate.sh), run for real with the local shell.
 * The programs they read are stand-ins on PATH (socat answering `show info;show stat` with
 * HAProxy 2.6's real CSV layout, curl, mariadb, systemctl); process start times are real (this
 * test process is "from before the action", processes spawned after KILN_HEALTH_SINCE are new).
 * The lab e2e suites run them against the real services.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { q } from '../../src/sh/quote.ts';
import { ROLES_DIR } from '../helpers/roles.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => (Date.now() / 1000).toFixed(3);

/** A temp bin/ with stand-in programs (name → sh body); runs a gate script with it first on PATH. */
function gateRunner(script: string, stubs: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-gates-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return {
    dir,
    run(args: string[], env: Record<string, string> = {}) {
      const r = spawnSync('sh', [join(ROLES_DIR, script), ...args], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
      });
      return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
    },
  };
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid);
});

describe('haproxy-gate: new process, a server UP with a passed check per backend, a request through the frontend', () => {
  // The header and column layout of HAProxy 2.6's `show stat` (as the lab's HAProxy prints it).
  const HEADER =
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx';
  const row = (px: string, sv: string, status: string, check: string) => {
    const cols = HEADER.slice(2)
      .split(',')
      .map(() => '');
    cols[0] = px;
    cols[1] = sv;
    cols[17] = status;
    cols[36] = check;
    return cols.join(',');
  };
  const stat = (pid: number, rows: string[]) =>
    [
      `Name: HAProxy`,
      `Pid: ${pid}`,
      `Uptime_sec: 2`,
      '',
      HEADER,
      row('https', 'FRONTEND', 'OPEN', ''),
      ...rows,
      row('web', 'BACKEND', 'UP', ''),
      '',
    ].join('\n');
  const g = gateRunner('haproxy/files/haproxy-gate.sh', {
    socat: 'cat "$GATE_DIR/stat"',
    curl: 'cat "$GATE_DIR/code"',
  });
  const gate = (statText: string, code: string, since: string) => {
    writeFileSync(join(g.dir, 'stat'), statText);
    writeFileSync(join(g.dir, 'code'), code);
    return g.run(['/run/haproxy/admin.sock', '443', '/health'], { GATE_DIR: g.dir, KILN_HEALTH_SINCE: since });
  };

  it('passes once the new process has one server UP whose check passed, and the frontend answers 2xx', async () => {
    const since = now();
    await sleep(50);
    const worker = spawn('sleep', ['30']);
    children.push(worker);
    const pid = worker.pid!;
    const up = [row('web', 'web1', 'UP', 'L7OK'), row('web', 'web2', 'DOWN', 'L7STS')];
    expect(gate(stat(pid, up), '200', since)).toEqual({ code: 0, out: '' });
    // A check in progress keeps its last result ("* L7OK").
    expect(gate(stat(pid, [row('web', 'web1', 'UP', '* L7OK')]), '200', since).code).toBe(0);
    // Servers without a check have nothing to prove.
    expect(gate(stat(pid, [row('static', 's1', 'no check', '')]), '200', since).code).toBe(0);
    // The frontend does not answer 2xx.
    expect(gate(stat(pid, up), '503', since)).toEqual({ code: 1, out: 'GET https://127.0.0.1:443/health through the frontend: 503' });
  });

  it('a fresh process whose servers are UP but not checked yet (INI) does not pass; failed checks do not pass', async () => {
    const since = now();
    await sleep(50);
    const worker = spawn('sleep', ['30']);
    children.push(worker);
    // [servers, exit, message]: 1 = not yet (keep polling), 100 = every server of a backend failed
    // its check in the new process (unhealthy for good: the service module restores at once).
    const cases: [string[], number, string][] = [
      [
        [row('web', 'web1', 'UP 1/2', 'INI'), row('web', 'web2', 'UP 1/2', 'INI')],
        1,
        'backend web: no server UP with a passed check yet: web1 UP 1/2 (INI) web2 UP 1/2 (INI)',
      ],
      [
        [row('web', 'web1', 'UP 1/2', 'L7STS'), row('web', 'web2', 'DOWN', 'L7STS')],
        100,
        'backend web: every server failed its check in the new process: web1 UP 1/2 (L7STS) web2 DOWN (L7STS)',
      ],
      // One failed, one not checked yet: keep waiting.
      [
        [row('web', 'web1', 'UP 1/2', 'L7STS'), row('web', 'web2', 'UP 1/2', 'INI')],
        1,
        'backend web: no server UP with a passed check yet: web1 UP 1/2 (L7STS) web2 UP 1/2 (INI)',
      ],
      // Two backends: each needs its own server.
      [
        [row('web', 'web1', 'UP', 'L7OK'), row('api', 'api1', 'DOWN', 'L4CON')],
        100,
        'backend api: every server failed its check in the new process: api1 DOWN (L4CON)',
      ],
    ];
    for (const [servers, code, out] of cases) expect(gate(stat(worker.pid!, servers), '200', since)).toEqual({ code, out });
  });

  it('an answer from the process that was running before the reload does not pass', () => {
    // This test process started long before "now": it stands for the old worker.
    const r = gate(stat(process.pid, [row('web', 'web1', 'UP', 'L7OK')]), '200', now());
    expect(r).toEqual({
      code: 1,
      out: `the HAProxy process answering (pid ${process.pid}) started before the reload: the new one is not serving yet`,
    });
  });
});

describe('nginx-gate: every worker accepting connections belongs to the new configuration', () => {
  /** A stand-in nginx master (bash) with workers titled like nginx's; returns its pid. */
  const master = async (titles: string[]) => {
    const kids = titles.map((t) => `(exec -a ${q(t)} sleep 30) &`).join(' ');
    const p = spawn('bash', ['-c', `${kids} wait`]);
    children.push(p);
    await sleep(200);
    return p.pid!;
  };
  const g = gateRunner('nginx/files/nginx-gate.sh', { systemctl: 'cat "$GATE_DIR/main"' });
  const gate = (main: number, since: string) => {
    writeFileSync(join(g.dir, 'main'), `${main}\n`);
    return g.run(['nginx'], { GATE_DIR: g.dir, KILN_HEALTH_SINCE: since });
  };

  it('passes when the workers started after the action; old workers shutting down do not count', async () => {
    const since = now();
    await sleep(50);
    const main = await master(['nginx: worker process', 'nginx: worker process', 'nginx: cache manager process']);
    expect(gate(main, since)).toEqual({ code: 0, out: '' });
  });

  it('fails while a worker from before the action still accepts, or when there is none', async () => {
    const main = await master(['nginx: worker process', 'nginx: worker process is shutting down']);
    await sleep(50);
    const after = now();
    expect(gate(main, after)).toEqual({
      code: 1,
      out: 'nginx: 0 worker process(es) of the new configuration, 1 from before the reload still accepting connections',
    });
    const none = await master(['nginx: worker process is shutting down']);
    expect(gate(none, '0').out).toBe(
      'nginx: 0 worker process(es) of the new configuration, 0 from before the reload still accepting connections',
    );
    expect(gate(0, '0')).toEqual({ code: 1, out: 'nginx is not running' });
  });

  it('with a URL, also requests it as the load balancers check it (HTTP/1.0, no Host, no User-Agent) and needs a 2xx', async () => {
    const lb = gateRunner('nginx/files/nginx-gate.sh', {
      systemctl: 'cat "$GATE_DIR/main"',
      curl: 'echo "$*" > "$GATE_DIR/curl.args"; cat "$GATE_DIR/code"',
    });
    const since = now();
    await sleep(50);
    const main = await master(['nginx: worker process']);
    writeFileSync(join(lb.dir, 'main'), `${main}\n`);
    const run = (code: string) => {
      writeFileSync(join(lb.dir, 'code'), code);
      return lb.run(['nginx', 'http://127.0.0.1:8080/health'], { GATE_DIR: lb.dir, KILN_HEALTH_SINCE: since });
    };
    expect(run('200')).toEqual({ code: 0, out: '' });
    expect(readFileSync(join(lb.dir, 'curl.args'), 'utf8').trim()).toBe(
      '-s -o /dev/null -w %{http_code} --max-time 5 -0 -H Host: -H User-Agent: -H Accept: -- http://127.0.0.1:8080/health',
    );
    expect(run('403')).toEqual({
      code: 1,
      out: "http://127.0.0.1:8080/health as the load balancers' health checks send it (HTTP/1.0, no Host, no User-Agent): HTTP 403",
    });
  });
});

describe('mariadb-gate: the server answers; on a replica both replication threads run', () => {
  const g = gateRunner('mysql/files/mariadb-gate.sh', {
    mariadb: 'case "$*" in *"SELECT 1"*) cat "$GATE_DIR/select"; exit "$(cat "$GATE_DIR/select.rc")";; *) cat "$GATE_DIR/slave";; esac',
  });
  const gate = (role: string, select: [string, number], slave: string) => {
    writeFileSync(join(g.dir, 'select'), select[0]);
    writeFileSync(join(g.dir, 'select.rc'), String(select[1]));
    writeFileSync(join(g.dir, 'slave'), slave);
    return g.run([role], { GATE_DIR: g.dir });
  };
  const status = (io: string, sql: string, ioError = '') =>
    `*************************** 1. row ***************************\n  Slave_IO_State: \n  Master_Host: 10.77.0.31\n  Slave_IO_Running: ${io}\n  Slave_SQL_Running: ${sql}\n  Last_IO_Error: ${ioError}\n  Last_SQL_Error: \n`;

  it('primary: a query answers', () => {
    expect(gate('primary', ['1\n', 0], '')).toEqual({ code: 0, out: '' });
    expect(
      gate('primary', ["ERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)", 1], ''),
    ).toEqual({
      code: 1,
      out: "the server does not answer: ERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)",
    });
  });

  it('replica: both threads Yes; a stopped or connecting IO thread fails with its error', () => {
    expect(gate('replica', ['1\n', 0], status('Yes', 'Yes')).code).toBe(0);
    const err =
      'Fatal error: The slave I/O thread stops because master and slave have equal MariaDB server ids; these ids must be different for replication to work';
    expect(gate('replica', ['1\n', 0], status('No', 'Yes', err))).toEqual({
      code: 1,
      out: `replication: IO thread No, SQL thread Yes\nLast_IO_Error: ${err}`,
    });
    expect(gate('replica', ['1\n', 0], status('Connecting', 'Yes')).out).toBe('replication: IO thread Connecting, SQL thread Yes');
    expect(gate('replica', ['1\n', 0], '')).toEqual({ code: 1, out: 'not a replica: SHOW SLAVE STATUS is empty' });
  });
});

describe('prometheus-gate: ready, and the configuration loaded after the action', () => {
  const g = gateRunner('monitoring/files/prometheus-gate.sh', {
    curl: 'for a; do u=$a; done\ncase "$u" in */-/ready) cat "$GATE_DIR/ready";; */metrics) cat "$GATE_DIR/metrics";; esac',
  });
  const gate = (ready: string, ok: string, at: string, since: string) => {
    writeFileSync(join(g.dir, 'ready'), ready);
    writeFileSync(
      join(g.dir, 'metrics'),
      `# HELP prometheus_config_last_reload_successful Whether the last configuration reload attempt was successful.\nprometheus_config_last_reload_success_timestamp_seconds ${at}\nprometheus_config_last_reload_successful ${ok}\n`,
    );
    return g.run(['http://127.0.0.1:9090'], { GATE_DIR: g.dir, KILN_HEALTH_SINCE: since });
  };

  it('passes when ready with a configuration loaded after the action (Prometheus prints the time as 1.7…e+09)', () => {
    expect(gate('200', '1', '1.7962092123456e+09', '1796209210.5')).toEqual({ code: 0, out: '' });
  });

  it('fails while not ready, after a refused reload (0), and before the reload was processed', () => {
    expect(gate('503', '1', '1.7962092123456e+09', '1796209210.5').out).toBe('GET http://127.0.0.1:9090/-/ready: 503');
    expect(gate('200', '0', '1.7962092123456e+09', '1796209210.5').out).toBe(
      'prometheus_config_last_reload_successful is 0: Prometheus refused the configuration and still runs the previous one',
    );
    expect(gate('200', '1', '1.7962092003e+09', '1796209210.5').out).toBe(
      'the configuration was last loaded at 1.7962092003e+09, before the action: not reloaded yet',
    );
  });
});
