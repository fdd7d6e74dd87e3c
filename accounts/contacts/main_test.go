package contacts_test

import (
	"os"
	"testing"

	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestMain fails the package when one of its scripts never ran under the
// key guard.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m, "contacts")) }
