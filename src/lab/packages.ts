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
  'mtail', // the waf role's blocked-request counters (ModSecurity's log lines → Prometheus)
  // application firewall (ModSecurity v3 + the OWASP Core Rule Set in nginx)
  'libnginx-mod-http-modsecurity',
  'modsecurity-crs',
  // the load balancers' floating address (VRRP)
  'keepalived',
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

/**
 * Extra packages the default lab's mirror carries for the compatibility corpus
 * (test/fixtures/role-corpus/: public roles such as geerlingguy's apache, nginx, php, mysql,
 * postgresql, redis, memcached, git, pip, ntp, certbot, firewall, security), as those roles
 * install them on Debian 12. A topology file names its own list with `mirror_packages:`; the
 * built-in topology uses this one. Roles that install from a vendor's own repository (docker-ce,
 * snapd's certbot) cannot be served offline and are not listed.
 */
export const CORPUS_PACKAGES: readonly string[] = [
  // web servers (geerlingguy.apache, geerlingguy.nginx, geerlingguy.haproxy)
  'apache2',
  'apache2-utils',
  'libapache2-mod-php8.2',
  // PHP 8.2, Debian 12's (geerlingguy.php: php_packages and the common extra modules)
  'php8.2-common',
  'php8.2-cli',
  'php8.2-dev',
  'php8.2-fpm',
  'libpcre3-dev',
  'php8.2-gd',
  'php8.2-curl',
  'php8.2-imap',
  'php8.2-opcache',
  'php8.2-xml',
  'php8.2-mbstring',
  'php8.2-apcu',
  'php8.2-mysql',
  'php8.2-sqlite3',
  'php8.2-intl',
  'php8.2-zip',
  // databases and caches (geerlingguy.mysql, geerlingguy.postgresql, geerlingguy.redis, geerlingguy.memcached)
  'default-mysql-server',
  'python3-mysqldb',
  'postgresql',
  'postgresql-contrib',
  'libpq-dev',
  'python3-psycopg2',
  'redis-server',
  'memcached',
  // tools (geerlingguy.git, geerlingguy.pip, geerlingguy.certbot, docker's Debian prerequisites)
  'git',
  'python3-pip',
  'python3-setuptools',
  'certbot',
  'python3-certbot-apache',
  'python3-certbot-nginx',
  'python3-debian',
  'gnupg',
  'apt-transport-https',
  'acl',
  // time (geerlingguy.ntp installs ntpsec on Debian 12; chrony is the other common choice)
  'ntpsec',
  'ntp',
  'chrony',
  'tzdata',
  // firewall and hardening (geerlingguy.firewall, geerlingguy.security)
  'ufw',
  'fail2ban',
  'unattended-upgrades',
  'apt-listchanges',
  // what the Debian modules of issue 17 drive on a host (cron, locale_gen, pip venvs, unarchive, debconf, modprobe)
  'cron',
  'locales',
  'python3-venv',
  'unzip',
  'zip',
  'bzip2',
  'xz-utils',
  'debconf-utils',
  'kmod',
  // snap (geerlingguy.certbot's install-with-snap): snapd, and squashfs-tools for `snap pack` of a test snap
  'snapd',
  'squashfs-tools',
];
