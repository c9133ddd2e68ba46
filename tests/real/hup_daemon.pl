#!/usr/bin/perl
# A daemon in the classic style: SIGHUP reloads its configuration, and it
# reads its work with sysread. Perl's %SIG handlers have no SA_RESTART, so
# a SIGHUP that arrives while sysread blocks makes it fail with EINTR.
#
# Prints "pid=N", then "got=LINE reloads=N" for each line read from
# stdin, and "done reloads=N" at end of input.
use strict;
use warnings;
use IO::Handle;

STDOUT->autoflush(1);
my $reloads = 0;
$SIG{HUP} = sub { $reloads++ };    # re-read the configuration here
print "pid=$$\n";
while (1) {
    my $n = sysread(STDIN, my $buf, 4096);
    die "read failed: $!\n" unless defined $n;
    last if $n == 0;
    chomp $buf;
    print "got=$buf reloads=$reloads\n";
}
print "done reloads=$reloads\n";
