#!/usr/bin/perl
# A forking echo server written the way perlipc(1) shows it: a $SIG{CHLD}
# reaper and an accept loop that dies when accept fails. Perl installs %SIG
# handlers without SA_RESTART, so a child exiting while the parent blocks
# in accept makes accept fail with EINTR, and the server dies.
#
# Usage: forking_server.pl CLIENTS. Prints "port=N", serves CLIENTS
# connections (one line each, echoed back by a child), prints "served=N".
use strict;
use warnings;
use Socket;
use POSIX ":sys_wait_h";
use IO::Handle;

my $clients = shift // 5;

socket(my $server, PF_INET, SOCK_STREAM, getprotobyname("tcp")) or die "socket: $!\n";
setsockopt($server, SOL_SOCKET, SO_REUSEADDR, pack("l", 1)) or die "setsockopt: $!\n";
bind($server, sockaddr_in(0, INADDR_LOOPBACK)) or die "bind: $!\n";
listen($server, SOMAXCONN) or die "listen: $!\n";
my ($port) = sockaddr_in(getsockname($server));
STDOUT->autoflush(1);
print "port=$port\n";

sub REAPER {
    1 while waitpid(-1, WNOHANG) > 0;
    $SIG{CHLD} = \&REAPER;
}
$SIG{CHLD} = \&REAPER;

for (my $served = 0; $served < $clients; $served++) {
    accept(my $client, $server) or die "accept failed: $!\n";
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        close $server;
        my $line = <$client>;
        print $client "echo: $line";
        close $client;
        exit 0;
    }
    close $client;
}
# The reaper may have reaped them all; wait for any left.
1 while waitpid(-1, 0) > 0;
print "served=$clients\n";
