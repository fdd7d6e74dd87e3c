package smtp

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// recoveringSession runs every command of a session under recover, so that
// a panic on one client's input costs that client a 451 and its current
// transaction, not the process. The panic is counted through
// Options.OnPanic (component "smtp") and logged once.
type recoveringSession struct {
	s *session
}

var (
	_ gosmtp.Session     = recoveringSession{}
	_ gosmtp.AuthSession = recoveringSession{}
)

// recovered turns a panic of command cmd into the internal-error reply in
// *err and drops the transaction, whose state can no longer be trusted.
func (rs recoveringSession) recovered(cmd string, err *error) {
	v := recover()
	if v == nil {
		return
	}
	rs.s.b.panicked(rs.s, cmd, v)
	func() {
		defer func() { // a session too broken to reset is closed by its client
			if v := recover(); v != nil {
				rs.s.b.panicked(rs.s, "rset", v) // counted too: every recovered panic is
			}
		}()
		rs.s.Reset()
	}()
	if err != nil {
		*err = toSMTPError(fmt.Errorf("panic in %s: %v", cmd, v), replyContext{session: rs.s.id}).err
	}
}

// Reset implements gosmtp.Session.
func (rs recoveringSession) Reset() {
	defer rs.recovered("rset", nil)
	rs.s.Reset()
}

// Logout implements gosmtp.Session.
func (rs recoveringSession) Logout() (err error) {
	defer rs.recovered("quit", &err)
	return rs.s.Logout()
}

// Mail implements gosmtp.Session.
func (rs recoveringSession) Mail(from string, opts *gosmtp.MailOptions) (err error) {
	defer rs.recovered("mail", &err)
	return rs.s.Mail(from, opts)
}

// Rcpt implements gosmtp.Session.
func (rs recoveringSession) Rcpt(to string, opts *gosmtp.RcptOptions) (err error) {
	defer rs.recovered("rcpt", &err)
	return rs.s.Rcpt(to, opts)
}

// Data implements gosmtp.Session.
func (rs recoveringSession) Data(r io.Reader) (err error) {
	defer rs.recovered("data", &err)
	return rs.s.Data(r)
}

// AuthMechanisms implements gosmtp.AuthSession.
func (rs recoveringSession) AuthMechanisms() []string { return rs.s.AuthMechanisms() }

// Auth implements gosmtp.AuthSession. The SASL exchange that follows runs
// under recover too.
func (rs recoveringSession) Auth(mech string) (srv sasl.Server, err error) {
	defer rs.recovered("auth", &err)
	srv, err = rs.s.Auth(mech)
	if err != nil || srv == nil {
		return srv, err
	}
	return recoveringSASL{rs: rs, srv: srv}, nil
}

// recoveringSASL runs each step of an AUTH exchange under recover.
type recoveringSASL struct {
	rs  recoveringSession
	srv sasl.Server
}

func (r recoveringSASL) Next(response []byte) (challenge []byte, done bool, err error) {
	defer r.rs.recovered("auth", &err)
	return r.srv.Next(response)
}

// panicked reports a recovered panic of a session: to Options.OnPanic when
// set (which logs and counts it), else to the backend's log.
func (b *Backend) panicked(s *session, cmd string, v any) {
	if b.opts.OnPanic != nil {
		b.opts.OnPanic("smtp", v)
		return
	}
	s.log.Error("panic in session", "command", cmd, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}
