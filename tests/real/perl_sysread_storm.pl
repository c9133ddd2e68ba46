# Legacy Perl: `sysread ... or die` on a pipe while another process sends
# SIGUSR1 every 2 ms, 100 times (a handler counts them; Perl dies when one
# signal is pending more than 120 times), then writes the data. Bare,
# sysread fails with EINTR and the script dies; under the shim the read
# inside Perl's sysread is retried (Perl's own code does not look at EINTR
# there). Exit 0 with "got late data".
use strict;
use warnings;
use Time::HiRes qw(usleep);

my $signals = 0;
$SIG{USR1} = sub { $signals++ };
pipe(my $r, my $w) or die "pipe: $!";
my $parent = $$;
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    close $r;
    for (1 .. 100) { kill 'USR1', $parent; usleep(2000) }
    syswrite($w, "late data") or exit 3;
    exit 0;
}
close $w;
my $n = sysread($r, my $buf, 100);
defined $n or die "sysread: $!\n";
waitpid($pid, 0);
print "got $buf after $signals signals\n";
exit($buf eq "late data" && $signals > 0 ? 0 : 2);
