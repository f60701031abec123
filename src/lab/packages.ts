/**
 * Package lists for the lab. Both caches under /var/cache/kiln/lab are keyed by a hash of these
 * lists, so editing them triggers a rebuild on the next `kiln lab up`.
 */

/** What a freshly installed, minimal Debian 12 server has (the base root filesystem of every host). */
export const BASE_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'libpam-systemd',
  'openssh-server',
  'sudo',
  'python3',
  'iproute2',
  'iputils-ping',
  'procps',
  'ca-certificates',
  'less',
  'netbase',
];

/**
 * Every package any Kiln role may install. The hosts have no internet access: they install from an
 * offline mirror holding exactly these packages plus their full dependency closure (Recommends
 * included, resolved against the base root filesystem). A role installing a package that is not
 * listed here fails with "Unable to locate package": add it here.
 */
export const MIRROR_PACKAGES: readonly string[] = [
  // load balancing / web
  'haproxy',
  'nginx',
  // databases
  'mariadb-server',
  'mariadb-client',
  'mariadb-backup',
  // monitoring
  'prometheus',
  'prometheus-node-exporter',
  'prometheus-nginx-exporter',
  // firewalls
  'nftables',
  'iptables',
  'netfilter-persistent',
  'iptables-persistent',
  // tools
  'curl',
  'socat', // the haproxy role's reload gate reads the admin socket (show stat)
  'nodejs',
  'node-mysql', // the sample app's MariaDB driver (Debian-packaged, no npm on the hosts)
  'openssl',
  'rsync',
  'tree',
  'jq',
  'python3-apt', // Ansible's apt module (the benchmark runs Ansible against the same hosts)
  'ca-certificates',
];
