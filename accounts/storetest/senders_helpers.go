package storetest

import (
	"github.com/smsgate/smsgate/accounts"
)

// SendersTree is a root with subs A and B, and another tenant's root.
type SendersTree struct{ Root, A, B, Other *accounts.Account }
