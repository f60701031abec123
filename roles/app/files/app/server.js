'use strict';
/*
 * Kiln sample app (roles/app). A small HTTP service with no dependency outside Debian:
 *
 *   GET  /         who answered: inventory name, host name, release
 *   GET  /health   200 {status, host, hostname, release, db: {primary, replica}} while this
 *                  process serves; status "degraded" when a configured database is unreachable
 *                  (the last result of a background check every 5 s: never waits for a database)
 *   GET  /health/db  checks the databases now; 503 when a configured one is unreachable (for
 *                  monitoring and operators, not for the load balancers)
 *   POST /items    (database configured) writes a row through the PRIMARY; body = text or {"text": "..."}
 *   GET  /items    (database configured) reads the latest rows from the REPLICA (primary if no replica)
 *
 * Configuration: the JSON file named by $APP_CONFIG (written by the role, mode 0600, owned by the
 * app user). The release is the name of the directory this file runs from (releases/<version>).
 */
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');

const config = JSON.parse(fs.readFileSync(process.env.APP_CONFIG || '/etc/kiln-app/config.json', 'utf8'));
const release = path.basename(__dirname);
const port = Number(config.port || 3000);
const bind = config.bind || '127.0.0.1';
const host = config.inventory_hostname || os.hostname();
const db = require('./lib/db.js').fromConfig(config.db || null);

function send(res, code, body) {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Served-By': host });
  res.end(text);
}

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function identity() {
  return { host, hostname: os.hostname(), release };
}

async function route(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/') {
    return send(res, 200, { message: `Hello from ${host}`, ...identity(), database: db ? 'configured' : 'not configured' });
  }
  if (req.method === 'GET' && (url.pathname === '/health' || url.pathname === '/health/db')) {
    const status = db ? await db.status(url.pathname === '/health/db') : { primary: 'not configured', replica: 'not configured' };
    const down = Object.values(status).some((s) => s.startsWith('error'));
    const body = { status: down ? 'degraded' : 'ok', ...identity(), db: status };
    // The LB's check (/health) stays 200 while this process serves: a database outage is shared by
    // every web host, and taking them all out of the pool would only turn it into a full outage.
    return send(res, url.pathname === '/health/db' && down ? 503 : 200, body);
  }
  if (url.pathname === '/items') {
    if (!db) return send(res, 404, { error: 'no database configured (set app_db_primary_host and friends)', ...identity() });
    try {
      if (req.method === 'POST') {
        const raw = await readBody(req);
        let text = raw;
        try {
          const j = JSON.parse(raw);
          if (j && typeof j.text === 'string') text = j.text;
        } catch {
          /* plain text body */
        }
        const id = await db.write(String(text).slice(0, 1024), host);
        return send(res, 201, { id, written_to: 'primary', ...identity() });
      }
      if (req.method === 'GET') {
        const r = await db.read(Math.min(Number(url.searchParams.get('limit')) || 20, 200));
        return send(res, 200, { read_from: r.from, items: r.rows, ...identity() });
      }
      return send(res, 405, { error: 'method not allowed' });
    } catch (e) {
      return send(res, 503, { error: `database: ${e.code || e.message}`, ...identity() });
    }
  }
  return send(res, 404, { error: 'not found', path: url.pathname });
}

const server = http.createServer((req, res) => {
  route(req, res).catch((e) => send(res, 500, { error: String(e && e.message) }));
});
server.keepAliveTimeout = 65000;
server.listen(port, bind, () => {
  console.log(`kiln-app release ${release} on ${host} listening on ${bind}:${port}; database ${db ? 'configured' : 'not configured'}`);
});

function shutdown(sig) {
  console.log(`${sig}: closing`);
  server.close(() => (db ? db.end() : Promise.resolve()).finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
