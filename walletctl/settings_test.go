package walletctl

import (
	"testing"
	"time"
)

func TestSettingsSet(t *testing.T) {
	s := DefaultSettings()
	if s.NotifyTimeout.D() != 5*time.Second {
		t.Fatalf("notify_timeout defaults to %s, want v3's 5s", s.NotifyTimeout.D())
	}
	for _, a := range []string{"confirm_threshold=100000", "password_lock=1h", "password_max_attempts=3", "password_hash.time=3", "delay_2h=90m",
		"notify_timeout=500ms"} {
		if err := s.Set(a); err != nil {
			t.Fatalf("Set(%q): %v", a, err)
		}
	}
	if s.ConfirmThreshold != 100000 || s.PasswordLock.D() != time.Hour || s.PasswordMaxAttempts != 3 || s.PasswordHash.Time != 3 || s.Delay2h.D() != 90*time.Minute ||
		s.NotifyTimeout.D() != 500*time.Millisecond {
		t.Fatalf("settings not applied: %+v", s)
	}
	if s.ClassILimit != DefaultSettings().ClassILimit {
		t.Fatal("an untouched setting changed")
	}
	before := s
	for _, a := range []string{"nope=1", "confirm_threshold", "confirm_threshold=abc", "password_lock=soon", "class1_limit=-5",
		"password_max_attempts=0", "password_hash.nope=1", "confirm_threshold.x=1", "withdraw_fee_bp=20000",
		"notify_timeout=0", "notify_timeout=-1s", "notify_timeout=2m"} {
		err := s.Set(a)
		if ErrorCode(err) != CodeInvalidArgument {
			t.Errorf("Set(%q) = %v, want INVALID_ARGUMENT", a, err)
		}
	}
	if s != before {
		t.Fatal("a refused Set changed the settings")
	}
	if keys := SettingKeys(); len(keys) < 15 || keys[0] != "class1_limit" {
		t.Fatalf("SettingKeys = %v", keys)
	}
}
