#!/usr/bin/perl
# A minimal SMSC written on Net::SMPP (Debian libnet-smpp-perl), a peer on
# another SMPP library for smsgate's tests (cmd/smsgate/peer_netsmpp_test.go).
# It accepts one bind_transceiver, answers each submit_sm after a delay
# (a slow SMSC), and after the first submit_sm sends the submitter's
# destination a reply concatenated with an 8-bit UDH in two parts (part 2
# first). It reports on stdout, one line per event:
#   LISTEN <port> / BOUND <system_id> / SUBMIT <dest> <hex short_message> /
#   MO <part> / DONE
# Usage: netsmpp_smsc.pl PORT RESP_DELAY_SECONDS MO_TEXT_PART1 MO_TEXT_PART2
use strict;
use warnings;
use Net::SMPP;
use Time::HiRes qw(sleep);

$| = 1;
my ($port, $delay, $p1, $p2) = @ARGV;
my $listen = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34)
  or die "listen: $!";
print "LISTEN $port\n";
my $smpp = $listen->accept or die "accept: $!";
my ($submits, $mo_sent) = (0, 0);
while (my $pdu = $smpp->read_pdu()) {
  my $cmd = $pdu->{cmd};
  if ($cmd == Net::SMPP::CMD_bind_transceiver) {
    print "BOUND $pdu->{system_id}\n";
    $smpp->bind_transceiver_resp(seq => $pdu->{seq}, system_id => 'netsmpp');
  } elsif ($cmd == Net::SMPP::CMD_enquire_link) {
    $smpp->enquire_link_resp(seq => $pdu->{seq});
  } elsif ($cmd == Net::SMPP::CMD_submit_sm) {
    $submits++;
    print "SUBMIT $pdu->{destination_addr} ", unpack('H*', $pdu->{short_message}), "\n";
    sleep($delay);
    $smpp->submit_sm_resp(seq => $pdu->{seq}, message_id => sprintf('NS%04d', $submits));
    if (!$mo_sent) {
      $mo_sent = 1;
      my ($from, $to) = ($pdu->{destination_addr}, $pdu->{source_addr});
      for my $part ([2, $p2], [1, $p1]) {
        my $udh = pack('C6', 5, 0x00, 3, 0x5A, 2, $part->[0]);
        $smpp->deliver_sm(source_addr => $from, destination_addr => $to, source_addr_ton => 1,
          dest_addr_ton => 1, esm_class => 0x40, data_coding => 0,
          short_message => $udh . $part->[1], async => 1);
        print "MO $part->[0]\n";
      }
    }
  } elsif ($cmd == Net::SMPP::CMD_unbind) {
    $smpp->unbind_resp(seq => $pdu->{seq});
    last;
  }
}
print "DONE\n";
