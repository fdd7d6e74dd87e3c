package router

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp"
)

type fakeLink struct {
	name string
	up   bool
}

func (f *fakeLink) Name() string { return f.name }
func (f *fakeLink) Up() bool     { return f.up }
func (f *fakeLink) Submit(context.Context, *smpp.SubmitRequest) (string, error) {
	return "1", nil
}

func TestRoutes(t *testing.T) {
	au1 := &fakeLink{"au1", true}
	au2 := &fakeLink{"au2", true}
	au4 := &fakeLink{"au-mobile", true}
	def := &fakeLink{"default", true}
	r := NewRoutes([]Route{
		{Link: def},
		{Link: au2, Prefixes: []string{"61"}, Priority: 2},
		{Link: au1, Prefixes: []string{"61"}, Priority: 1},
		{Link: au4, Prefixes: []string{"614"}},
	})
	tests := []struct {
		name, dest string
		want       []string
	}{
		{"longest prefix first, then priority, default last", "61412345678", []string{"au-mobile", "au1", "au2", "default"}},
		{"priority among equal prefixes", "61298765432", []string{"au1", "au2", "default"}},
		{"default route only", "6421000000", []string{"default"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range r.Candidates(tc.dest) {
				got = append(got, l.Name())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("failover skips links that are down", func(t *testing.T) {
		au4.up, au1.up = false, false
		defer func() { au4.up, au1.up = true, true }()
		if l := r.Pick("61412345678"); l == nil || l.Name() != "au2" {
			t.Errorf("picked %v, want au2", l)
		}
	})
	t.Run("no route", func(t *testing.T) {
		r := NewRoutes([]Route{{Link: au1, Prefixes: []string{"61"}}})
		if r.Has("4915112345678") || r.Pick("4915112345678") != nil {
			t.Error("a German number has no route")
		}
	})
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{Initial: time.Second, Max: 10 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		if got := p.Delay(attempt); got != want {
			t.Errorf("attempt %d: %s, want %s", attempt, got, want)
		}
	}
	p.Jitter = 0.5
	for range 100 {
		if d := p.Delay(2); d < time.Second || d > 3*time.Second {
			t.Fatalf("jittered delay %s outside [1s, 3s]", d)
		}
	}
}

func TestComposeText(t *testing.T) {
	tests := []struct{ mode, subject, body, want string }{
		{"ignore", "Subj", " body \n", "body"},
		{"prepend", "Subj", "body", "Subj\nbody"},
		{"prepend", "Subj", "", "Subj"},
		{"prepend", "", "body", "body"},
		{"ignore", " Subj ", " \n", "Subj"},
		{"ignore", "", "", ""},
	}
	for _, tc := range tests {
		if got := ComposeText(tc.mode, tc.subject, tc.body); got != tc.want {
			t.Errorf("ComposeText(%q, %q, %q) = %q, want %q", tc.mode, tc.subject, tc.body, got, tc.want)
		}
	}
}
