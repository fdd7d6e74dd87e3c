package smtp

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzPlainFast holds the fast path to go-message's reading: for every mail
// plainFast takes, the same subject, Message-ID, text and error (or none) as
// the general way gives; for every mail it leaves, nothing read.
func FuzzPlainFast(f *testing.F) {
	for _, s := range plainFastSeeds {
		f.Add(s)
	}
	f.Add(plainMail)
	for _, m := range clientMails {
		f.Add(readClientMail(f, m.file))
	}
	f.Fuzz(func(t *testing.T, msg string) {
		br := bufio.NewReaderSize(strings.NewReader(msg), 256) // small: headers past it go the general way
		fast, ok, ferr := plainFast(br)
		if !ok {
			if br.Buffered() == 0 && len(msg) > 0 {
				return // Peek read nothing: an empty reader
			}
			if got, _ := br.Peek(1); len(msg) > 0 && (len(got) == 0 || got[0] != msg[0]) {
				t.Fatalf("declined but consumed the start of %q", msg)
			}
			return
		}
		slow, serr := textFromEntity(bufio.NewReader(strings.NewReader(msg)))
		if (ferr == nil) != (serr == nil) || fast != slow {
			t.Fatalf("mail %q\nfast %+v, %v\nslow %+v, %v", msg, fast, ferr, slow, serr)
		}
	})
}

// plainFastSeeds are the shapes the fast path takes and the edges it must
// leave alone.
var plainFastSeeds = []string{
	"From: jo@a.example\r\nTo: 0412345678@sms.test\r\nSubject: x\r\nMessage-ID: <1@a.example>\r\n\r\nYour appointment is at 10:30.\r\n",
	"Subject: Re: your\r\n booking\r\n\t tomorrow\r\nMessage-Id: <a.b-c@x.example>\r\n\r\nYes\r\n\r\nOn Mon, Jo wrote:\r\n> q\r\n",
	"Message-Id: <a@[1.2.3.4]>\r\n\r\nx\r\n",
	"Content-Type: text/plain; charset=\"UTF-8\"; format=flowed; delsp=yes\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHello \r\nthere \r\n-- \r\nsig\r\n",
	"Content-Type: TEXT/PLAIN; charset=us-ascii\r\nContent-Transfer-Encoding: 7BIT\r\n\r\ncaf\xe9\r\n",
	"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n",
	"Content-Type: text/plain; name=a.txt\r\n\r\nfile\r\n",
	"Content-Disposition: attachment\r\n\r\nfile\r\n",
	"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n",
	"Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nx\r\n",
	"Subject: a\r\nSubject: b\r\n\r\nx\r\n",
	"Message-ID: <no-at>\r\n\r\nx\r\n",
	"Message-ID: (c) <a@b>\r\n\r\nx\r\n",
	"Message-ID: <a..b@c>\r\n\r\nx\r\n",
	"Message-ID:\r\n <a@b>\r\n\r\nx\r\n",
	" Subject: leading space\r\n\r\nx\r\n",
	"Subject : spaced key\r\nX-Empty:\r\n\r\nx\r\n",
	"Bad Key: v\r\n\r\nx\r\n",
	"Subject: x\n\nbare LF\n",
	"\r\nno header\r\n",
	"Subject: only a header\r\n",
	"Subject: caf\xc3\xa9\r\n\r\nx\r\n",
	"Content-Type: text/html\r\n\r\n<p>x</p>\r\n",
	"Content-Type: text/plain; charset=utf-8; format=fixed\r\n\r\n\x01ctl\x7f\r\n",
	"Content-Type: text/plain; charset=\r\n\r\nx\r\n",
}

// TestPlainFastTakes: the fast path takes the plain mails of the seeds
// (the benchmark's, Outlook's and phones' plain ones among them) and leaves
// the rest to go-message.
func TestPlainFastTakes(t *testing.T) {
	takes := map[int]bool{0: true, 1: true, 3: true, 4: true, 14: true, 16: true, 19: true, 23: true}
	for i, msg := range plainFastSeeds {
		_, ok, _ := plainFast(bufio.NewReader(strings.NewReader(msg)))
		if ok != takes[i] {
			t.Errorf("seed %d %q: taken %v, want %v", i, msg, ok, takes[i])
		}
	}
	crlf := strings.ReplaceAll(plainMail, "\n", "\r\n") // as it comes over SMTP
	if _, ok, _ := plainFast(bufio.NewReader(strings.NewReader(crlf))); !ok {
		t.Errorf("the plain test mail went the general way")
	}
}
