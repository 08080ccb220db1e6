#!/bin/bash
# e2e lab: Exim 4 as a second internal relay, run from an extracted .deb (exim4 conflicts with
# the installed postfix package). Runs inside: ip netns exec vte-relay2 unshare --mount
# --propagation private tests/e2e/exim-relay.sh ROOT DIR LISTEN SMARTHOST NETWORKS
# The binary wants the user Debian-exim: given through private bind mounts of passwd/group.
set -eu
ROOT=$1 D=$2 LISTEN=$3 SMARTHOST=$4 NETS=$5
cp /etc/passwd $D/passwd; cp /etc/group $D/group
echo 'Debian-exim:x:64999:64999:lab exim:/nonexistent:/usr/sbin/nologin' >> $D/passwd
echo 'Debian-exim:x:64999:' >> $D/group
mount --bind $D/passwd /etc/passwd; mount --bind $D/group /etc/group
mkdir -p $D/spool $D/log; chown 64999:64999 $D/spool $D/log
cat > $D/exim.conf <<EOT
primary_hostname = relay2.lab.test
exim_path = $ROOT/usr/sbin/exim4
spool_directory = $D/spool
log_file_path = $D/log/%slog
pid_file_path = $D/exim.pid
local_interfaces = $LISTEN
daemon_smtp_ports = 25
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
never_users = root
domainlist local_domains =
hostlist relay_from_hosts = $NETS
log_selector = +smtp_confirmation +received_recipients +subject +delivery_size +sender_on_delivery +queue_time
keep_environment =
tls_advertise_hosts =
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept  hosts = +relay_from_hosts
  deny    message = relay not permitted

begin routers
smarthost:
  driver = manualroute
  domains = ! +local_domains
  transport = remote_smtp
  route_list = * $SMARTHOST
  no_more

begin transports
remote_smtp:
  driver = smtp

begin retry
*   *   F,2h,15m; G,16h,1h,1.5; F,4d,6h

begin rewrite
EOT
chmod 644 $D/exim.conf
touch $D/log/mainlog; chown 64999:64999 $D/log/mainlog
echo ready > $D/ready
exec $ROOT/usr/sbin/exim4 -C $D/exim.conf -bdf -q5s
