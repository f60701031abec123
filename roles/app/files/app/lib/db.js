'use strict';
/*
 * Database access for the sample app: writes go to the primary, reads to the replica (the
 * primary when no replica is configured). Uses Debian's node-mysql (package `node-mysql`,
 * installed under /usr/share/nodejs), so nothing comes from npm. With `tls.ca` in the config,
 * every connection uses TLS and verifies the server against that CA (Kiln's internal CA).
 */

const fs = require('fs');

function loadMysql() {
  try {
    return require('mysql');
  } catch {
    return require('/usr/share/nodejs/mysql');
  }
}

const TABLE = 'kiln_items';
const CREATE = `CREATE TABLE IF NOT EXISTS ${TABLE} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  text VARCHAR(1024) NOT NULL,
  written_by VARCHAR(255) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)`;

function query(pool, sql, args) {
  return new Promise((resolve, reject) => {
    pool.query({ sql, timeout: 5000 }, args || [], (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

/**
 * TLS (c.tls.ca: the CA file): every connection uses TLS, and node-mysql rejects a server whose
 * certificate does not chain to that CA (rejectUnauthorized). Debian's node-mysql 2.18 does not
 * check the certificate's name (it wraps the socket itself and keeps the TLS socket private); the
 * CA is Kiln's internal one, which signs only the site's own servers.
 */
function tlsOptions(c) {
  if (!c.tls || !c.tls.ca) return undefined;
  return { ca: fs.readFileSync(c.tls.ca, 'utf8'), rejectUnauthorized: true };
}

/** null when no database is configured; otherwise {status, write, read, end}. */
function fromConfig(c) {
  if (!c || !c.primary || !c.primary.host) return null;
  const mysql = loadMysql();
  const password = c.password_b64 ? Buffer.from(c.password_b64, 'base64').toString('utf8') : undefined;
  const ssl = tlsOptions(c);
  const pool = (ep) => {
    const p = mysql.createPool({
      host: ep.host,
      port: Number(ep.port || 3306),
      user: c.user,
      password,
      database: c.name,
      connectionLimit: 4,
      connectTimeout: 3000,
      acquireTimeout: 3000,
      charset: 'utf8mb4',
      ...(ssl ? { ssl } : {}),
    });
    return p;
  };
  const primary = pool(c.primary);
  const replica = c.replica && c.replica.host ? pool(c.replica) : null;
  let tableReady = null;
  const ensureTable = () => {
    tableReady = tableReady || query(primary, CREATE).catch((e) => {
      tableReady = null;
      throw e;
    });
    return tableReady;
  };

  // /health never waits for a database: a background check every 5 s keeps the last answer, so
  // an unreachable (timing out) replica cannot slow down or fail the load balancers' checks.
  // status(true) checks now (for /health/db).
  const ping = (p) =>
    query(p, 'SELECT 1 AS ok').then(
      () => 'ok',
      (e) => `error: ${e.code || e.message}`,
    );
  let last = { primary: 'unknown (checking)', replica: replica ? 'unknown (checking)' : 'not configured' };
  async function check() {
    const [p, r] = await Promise.all([ping(primary), replica ? ping(replica) : Promise.resolve('not configured')]);
    last = { primary: p, replica: r };
    return last;
  }
  check();
  setInterval(check, 5000).unref();
  async function status(fresh) {
    return fresh ? check() : last;
  }

  // The table is created once per process; a primary that no longer has it (rebuilt, or another
  // server after a failover) gets it again: on ER_NO_SUCH_TABLE the insert retries once after
  // CREATE TABLE IF NOT EXISTS.
  async function write(text, host) {
    const insert = () => query(primary, `INSERT INTO ${TABLE} (text, written_by) VALUES (?, ?)`, [text, host]);
    await ensureTable();
    const r = await insert().catch(async (e) => {
      if (e.code !== 'ER_NO_SUCH_TABLE') throw e;
      tableReady = null;
      await ensureTable();
      return insert();
    });
    return r.insertId;
  }

  async function read(limit) {
    const from = replica ? 'replica' : 'primary';
    const rows = await query(replica || primary, `SELECT id, text, written_by, created_at FROM ${TABLE} ORDER BY id DESC LIMIT ?`, [limit]).catch((e) => {
      // Before the first write the table may not exist yet (or not be replicated yet).
      if (e.code === 'ER_NO_SUCH_TABLE') return [];
      throw e;
    });
    return { from, rows };
  }

  function end() {
    const close = (p) => new Promise((resolve) => p.end(() => resolve()));
    return Promise.all([close(primary), replica ? close(replica) : Promise.resolve()]);
  }

  return { status, write, read, end };
}

module.exports = { fromConfig };
