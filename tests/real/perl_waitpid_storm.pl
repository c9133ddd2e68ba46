#!/usr/bin/perl
# Perl's own waitpid retries EINTR, running the %SIG handlers between
# tries. Perl's C-level handler only counts a signal and dies once one
# signal is pending more than 120 times ("Maximal count of pending
# signals"). A shim that retries inside the call keeps Perl from running
# its handlers, so a fast timer during one long call reaches that limit.
#
# A child exits after 1.5 s while a 1 kHz SIGALRM timer runs; prints
# "status=7 signals=N" when waitpid returned the child.
use strict;
use warnings;
use Time::HiRes qw(ualarm);

my $signals = 0;
$SIG{ALRM} = sub { $signals++ };
my $pid = fork() // die "fork: $!\n";
if ($pid == 0) {
    select(undef, undef, undef, 1.5);
    exit 7;
}
ualarm(1000, 1000);
my $got = waitpid($pid, 0);
ualarm(0);
die "waitpid: $!\n" unless $got == $pid;
print "status=", $? >> 8, " signals=$signals\n";
