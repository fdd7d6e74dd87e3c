package accounts

import "time"

// VerifyTXTPrefix starts the DNS TXT record that proves control of a domain:
// "smsgate-verify=<token>" at DomainChallengeName(domain).
const VerifyTXTPrefix = "smsgate-verify="

// DomainChallengeName is where the verification TXT record of domain goes.
func DomainChallengeName(domain string) string { return "_smsgate-challenge." + domain }

// DomainChallenge is a domain registration waiting for proof of control:
// publish TXTValue at TXTName, then verify (or the operator approves it).
type DomainChallenge struct {
	Domain      string    `json:"domain"`
	TXTName     string    `json:"txt_name"`
	TXTValue    string    `json:"txt_value"`
	RequestedAt time.Time `json:"requested_at,omitzero"`
}

// PendingAddress is an exact address registration waiting for its owner to
// confirm it with the token mailed to it.
type PendingAddress struct {
	Address   string    `json:"address"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AddrConfirmTTL is how long a mailed address confirmation is valid.
const AddrConfirmTTL = 7 * 24 * time.Hour
