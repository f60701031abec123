/**
 * The MariaDB/MySQL part of `kiln facts HOST` (role mysql): version, read_only, and for a replica
 * its source, threads, lag and GTID IO position.
 *
 * `MYSQL_FACTS_SCRIPT` is a fragment of the facts script (src/facts/facts.ts composes it): it is
 * read-only, prints `mysql_*=` lines, reads through the unix socket as root (sudo -n when not
 * root), and prints nothing (and never fails the script) when no client is installed or the server
 * does not answer. `parseMysqlFacts` reads those lines back; undefined when there is no server.
 * Facts sit above modules: this file never imports from src/facts.
 */

export const MYSQL_FACTS_SCRIPT = String.raw`# MariaDB/MySQL (role mysql): version, read_only, replication threads and lag. Read through the
# unix socket as root (sudo -n when not root); only when a client is installed.
if kiln_my=$(command -v mariadb || command -v mysql); then
  if [ "$(id -u)" = 0 ]; then kiln_su=; else kiln_su='sudo -n'; fi
  $kiln_su "$kiln_my" --protocol=socket --batch --skip-column-names 2>/dev/null <<'KILN_FACTS_SQL'
SELECT CONCAT('mysql_version=', VERSION());
SELECT CONCAT('mysql_read_only=', @@GLOBAL.read_only);
KILN_FACTS_SQL
  $kiln_su "$kiln_my" --protocol=socket --batch 2>/dev/null <<'KILN_FACTS_SQL' | awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR==2{print "mysql_replica_source=" $h["Master_Host"] ":" $h["Master_Port"]; print "mysql_io_running=" $h["Slave_IO_Running"]; print "mysql_sql_running=" $h["Slave_SQL_Running"]; print "mysql_seconds_behind_master=" $h["Seconds_Behind_Master"]; print "mysql_gtid_io_pos=" $h["Gtid_IO_Pos"]}'
SHOW SLAVE STATUS;
KILN_FACTS_SQL
fi
`;

export interface MysqlFacts {
  version: string;
  read_only: boolean;
  replica?: {
    source: string | undefined;
    io_running: string;
    sql_running: string | undefined;
    seconds_behind_master: number | null;
    gtid_io_pos: string | undefined;
  };
  [key: string]: unknown;
}

/** The `mysql` facts from the script's key=value lines; undefined when no server answered. */
export function parseMysqlFacts(kv: Record<string, string>): MysqlFacts | undefined {
  if (!kv.mysql_version) return undefined;
  const sbm = kv.mysql_seconds_behind_master;
  return {
    version: kv.mysql_version,
    read_only: /^(1|ON)$/.test(kv.mysql_read_only ?? ''),
    ...(kv.mysql_io_running !== undefined
      ? {
          replica: {
            source: kv.mysql_replica_source,
            io_running: kv.mysql_io_running,
            sql_running: kv.mysql_sql_running,
            seconds_behind_master: sbm && sbm !== 'NULL' ? Number(sbm) : null,
            gtid_io_pos: kv.mysql_gtid_io_pos,
          },
        }
      : {}),
  };
}
