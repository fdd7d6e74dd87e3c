package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestPostmasterValidation(t *testing.T) {
	base := func() *Config {
		c := Default()
		c.Roles = Roles{SMTP: true}
		c.SMTP.Domains = []string{"sms.example.com"}
		c.Relay = Relay{Addr: "relay.example.net:25", From: "smsgate@example.net"}
		return c
	}
	tests := []struct {
		name string
		edit func(*Config)
		want Errors
	}{
		{"valid", func(c *Config) { c.SMTP.Postmaster = "ops@example.net" }, nil},
		{"unset", func(c *Config) { c.Relay = Relay{} }, nil},
		{"display name", func(c *Config) { c.SMTP.Postmaster = "Ops <ops@example.net>" },
			Errors{{"smtp.postmaster", `"Ops <ops@example.net>" is not a bare email address such as ops@example.net`}}},
		{"not an address", func(c *Config) { c.SMTP.Postmaster = "ops" },
			Errors{{"smtp.postmaster", `"ops" is not a bare email address such as ops@example.net`}}},
		{"loops", func(c *Config) { c.SMTP.Postmaster = "ops@SMS.example.com" },
			Errors{{"smtp.postmaster", `"ops@SMS.example.com" is at an SMS domain (smtp.domains[0]): mail to it would loop`}}},
		{"no relay", func(c *Config) { c.SMTP.Postmaster = "ops@example.net"; c.Relay = Relay{} },
			Errors{{"smtp.postmaster", `needs relay.addr to forward mail to "ops@example.net"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var errs *Errors
			if !errors.As(err, &errs) || !reflect.DeepEqual(*errs, tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}
