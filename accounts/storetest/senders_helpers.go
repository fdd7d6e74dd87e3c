package storetest

import (
	"github.com/smsgate/smsgate/accounts"
)

// sendersTree is a root with subs A and B, and another tenant's root.
type SendersTree struct{ Root, A, B, Other *accounts.Account }
