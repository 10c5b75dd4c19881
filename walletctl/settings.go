package walletctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as "3h0m0s" (or a number of
// nanoseconds), so settings files stay readable.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want a string like \"3h\" or nanoseconds: %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// HashParams is the argon2id cost of payment password hashes. Every stored hash carries the
// parameters it was made with, so changing the setting only affects new hashes.
type HashParams struct {
	Time      uint32 `json:"time"`       // iterations
	MemoryKiB uint32 `json:"memory_kib"` // memory in KiB
	Threads   uint8  `json:"threads"`
}

// ProductionHash is OWASP's argon2id recommendation (t=2, m=19 MiB, p=1): tens of
// milliseconds per check, which is the point.
var ProductionHash = HashParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

// SandboxHash is a deliberately cheap cost (t=1, m=64 KiB) for tests, scenarios and local
// sandboxes, where the passwords are fake and speed matters. Never use it for real secrets.
var SandboxHash = HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

// Settings are the rules of DESIGN.md section 2, each with its documented default. Amounts are fen.
// A zero limit (velocity, daily) switches that limit off.
type Settings struct {
	// Account classes (PBOC 2015): class I may pay at most ClassILimit from balance in total since
	// opening; classes II and III at most their limit per calendar year. Transfers to the user's
	// own card (withdrawals) do not count.
	ClassILimit   int64 `json:"class1_limit"` // 1,000 CNY lifetime
	ClassIILimit  int64 `json:"class2_limit"` // 100,000 CNY a year
	ClassIIILimit int64 `json:"class3_limit"` // 200,000 CNY a year

	// Withdrawals: fee WithdrawFeeBasisPoints/10000 of the part above the lifetime free quota per
	// ID number, at least WithdrawFeeMin; the fee is taken out of the amount sent to the card.
	WithdrawFeeBasisPoints int64 `json:"withdraw_fee_bp"`     // 10 = 0.1 %
	WithdrawFeeMin         int64 `json:"withdraw_fee_min"`    // 0.10 CNY
	WithdrawFreeQuota      int64 `json:"withdraw_free_quota"` // 1,000 CNY

	// Transfers: a transfer to a stranger (no earlier accepted transfer between the two, either
	// way) of at least ConfirmThreshold needs the payee's full real name; delayed transfers arrive
	// after Delay2h / DelayNextDay; an arrived transfer not accepted within AcceptWindow refunds.
	ConfirmThreshold int64    `json:"confirm_threshold"` // 500 CNY
	Delay2h          Duration `json:"delay_2h"`
	DelayNextDay     Duration `json:"delay_next_day"`
	AcceptWindow     Duration `json:"accept_window"` // 24h

	// Anti-fraud limits on payments + transfers (balance or card) per user.
	VelocityMax    int      `json:"velocity_max"`    // at most this many ...
	VelocityWindow Duration `json:"velocity_window"` // ... within this window (10 min)
	DailyLimit     int64    `json:"daily_limit"`     // fen per user per calendar day (Asia/Shanghai)

	// Merchant payments (DESIGN.md section 8): a payment code is valid for PayCodeTTL; a code
	// payment above CodePayPasswordFree waits (USERPAYING) for the payer's password; an order not
	// paid within OrderExpiry (unless it says its own time_expire) closes.
	PayCodeTTL          Duration `json:"paycode_ttl"`           // 1m
	CodePayPasswordFree int64    `json:"codepay_password_free"` // 200 CNY
	OrderExpiry         Duration `json:"order_expiry"`          // 2h

	// Notifications (DESIGN.md section 9): a receiver has NotifyTimeout to answer each attempt
	// (v3's 5 s); after it, the attempt failed and the next one follows the retry schedule.
	NotifyTimeout Duration `json:"notify_timeout"` // 5s

	// Payment password.
	PasswordMaxAttempts int        `json:"password_max_attempts"` // 5
	PasswordLock        Duration   `json:"password_lock"`         // 3h
	PasswordHash        HashParams `json:"password_hash"`
}

// DefaultSettings are the documented defaults, with the production password hash cost.
func DefaultSettings() Settings {
	return Settings{
		ClassILimit:            100_000,
		ClassIILimit:           10_000_000,
		ClassIIILimit:          20_000_000,
		WithdrawFeeBasisPoints: 10,
		WithdrawFeeMin:         10,
		WithdrawFreeQuota:      100_000,
		ConfirmThreshold:       50_000,
		Delay2h:                Duration(2 * time.Hour),
		DelayNextDay:           Duration(24 * time.Hour),
		AcceptWindow:           Duration(24 * time.Hour),
		VelocityMax:            20,
		VelocityWindow:         Duration(10 * time.Minute),
		DailyLimit:             5_000_000,
		PayCodeTTL:             Duration(time.Minute),
		CodePayPasswordFree:    20_000,
		OrderExpiry:            Duration(2 * time.Hour),
		NotifyTimeout:          Duration(NotifyTimeout),
		PasswordMaxAttempts:    5,
		PasswordLock:           Duration(3 * time.Hour),
		PasswordHash:           ProductionHash,
	}
}

// SandboxSettings are DefaultSettings with the cheap SandboxHash, for tests and scenarios.
func SandboxSettings() Settings {
	s := DefaultSettings()
	s.PasswordHash = SandboxHash
	return s
}

// ClassLimit returns a class's balance-payment limit and its period ("lifetime" or "year").
func (s Settings) ClassLimit(c AccountClass) (int64, string) {
	switch c {
	case 1:
		return s.ClassILimit, "lifetime"
	case 2:
		return s.ClassIILimit, "year"
	case 3:
		return s.ClassIIILimit, "year"
	}
	return 0, "lifetime"
}

// SettingKeys lists the settings by their JSON names, in declaration order.
func SettingKeys() []string {
	var m []string
	t := reflect.TypeOf(Settings{})
	for i := 0; i < t.NumField(); i++ {
		m = append(m, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
	}
	return m
}

// Set changes one setting by its JSON name, e.g. "confirm_threshold=100000" (fen),
// "password_lock=1h", "password_hash.time=3". A value is read as JSON when it is valid JSON and
// as a string otherwise, so durations need no quotes.
func (s *Settings) Set(assignment string) error {
	key, value, ok := strings.Cut(assignment, "=")
	if !ok || key == "" {
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("setting %q is not key=value", assignment),
			Hint: "settings: " + strings.Join(SettingKeys(), ", ")}
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		v = value
	}
	node, path := tree, strings.Split(key, ".")
	for i, part := range path {
		cur, known := node[part]
		if !known {
			return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("unknown setting %q", key),
				Hint: "settings: " + strings.Join(SettingKeys(), ", ")}
		}
		if i == len(path)-1 {
			node[part] = v
			break
		}
		sub, isObject := cur.(map[string]any)
		if !isObject {
			return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("setting %q has no field %q", strings.Join(path[:i+1], "."), path[i+1])}
		}
		node = sub
	}
	raw, err = json.Marshal(tree)
	if err != nil {
		return err
	}
	var next Settings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		// Say what the setting takes, not how Go's decoder failed.
		form := SettingForm(key)
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("setting %s=%s: %s takes %s", key, value, key, form),
			Hint:    "e.g. --set " + settingExample(key) + " (see: walletctl sandbox settings)",
			Details: map[string]any{"setting": key}}
	}
	if err := next.Validate(); err != nil {
		return err
	}
	*s = next
	return nil
}

// Validate refuses settings no wallet could run with.
func (s Settings) Validate() error {
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...), Hint: "see walletctl sandbox settings"}
	}
	for name, v := range map[string]int64{"class1_limit": s.ClassILimit, "class2_limit": s.ClassIILimit,
		"class3_limit": s.ClassIIILimit, "withdraw_fee_bp": s.WithdrawFeeBasisPoints, "withdraw_fee_min": s.WithdrawFeeMin,
		"withdraw_free_quota": s.WithdrawFreeQuota, "confirm_threshold": s.ConfirmThreshold, "daily_limit": s.DailyLimit,
		"codepay_password_free": s.CodePayPasswordFree} {
		if v < 0 {
			return bad("%s must not be negative", name)
		}
	}
	if s.WithdrawFeeBasisPoints > 10000 {
		return bad("withdraw_fee_bp is at most 10000 (100%%)")
	}
	if s.PasswordMaxAttempts < 1 {
		return bad("password_max_attempts must be at least 1")
	}
	if s.VelocityMax < 0 || s.Delay2h < 0 || s.DelayNextDay < 0 || s.AcceptWindow <= 0 || s.PasswordLock < 0 || s.VelocityWindow < 0 {
		return bad("counts and durations must not be negative, and accept_window must be positive")
	}
	if s.PayCodeTTL <= 0 || s.OrderExpiry <= 0 {
		return bad("paycode_ttl and order_expiry must be positive")
	}
	if s.NotifyTimeout <= 0 || s.NotifyTimeout.D() > MaxNotifyTimeout {
		// Attempts are made inside commands, one after another: a longer wait would stall them.
		return bad("notify_timeout must be positive and at most %s", strings.TrimSuffix(MaxNotifyTimeout.String(), "0s"))
	}
	if s.PasswordHash.Time < 1 || s.PasswordHash.MemoryKiB < 8 || s.PasswordHash.Threads < 1 {
		return bad("password_hash needs time >= 1, memory_kib >= 8, threads >= 1")
	}
	return nil
}

// fenSettings are the settings that are amounts in fen.
var fenSettings = map[string]bool{"class1_limit": true, "class2_limit": true, "class3_limit": true,
	"withdraw_fee_min": true, "withdraw_free_quota": true, "confirm_threshold": true, "daily_limit": true,
	"codepay_password_free": true}

// IsAmountSetting says whether the setting key is an amount in fen.
func IsAmountSetting(key string) bool { return fenSettings[key] }

// settingField finds the struct field of a setting key ("password_hash.time" included).
func settingField(key string) (reflect.StructField, bool) {
	t := reflect.TypeOf(Settings{})
	var f reflect.StructField
	for _, part := range strings.Split(key, ".") {
		if t.Kind() != reflect.Struct {
			return f, false
		}
		found := false
		for i := 0; i < t.NumField(); i++ {
			if strings.Split(t.Field(i).Tag.Get("json"), ",")[0] == part {
				f, t, found = t.Field(i), t.Field(i).Type, true
				break
			}
		}
		if !found {
			return f, false
		}
	}
	return f, true
}

// SettingForm says in words what a setting takes: an amount in fen, a duration, a count.
func SettingForm(key string) string {
	f, ok := settingField(key)
	switch {
	case !ok:
		return "a known setting"
	case fenSettings[key]:
		return "an amount in fen, a whole number (50000 = 500.00 CNY)"
	case key == "withdraw_fee_bp":
		return "basis points, a whole number (10 = 0.1 %)"
	case key == "notify_timeout":
		return "a duration up to " + strings.TrimSuffix(MaxNotifyTimeout.String(), "0s") + ", like 5s or 500ms"
	case f.Type == reflect.TypeOf(Duration(0)):
		return "a duration like 3h, 30m or 1h30m"
	case f.Type.Kind() == reflect.Struct:
		return "its fields one by one, e.g. " + key + ".time=2"
	default:
		return "a whole number"
	}
}

// settingExample is a valid KEY=VALUE for the setting.
func settingExample(key string) string {
	f, ok := settingField(key)
	switch {
	case !ok:
		return "confirm_threshold=100000"
	case fenSettings[key]:
		return key + "=100000"
	case key == "notify_timeout":
		return key + "=10s"
	case f.Type == reflect.TypeOf(Duration(0)):
		return key + "=1h"
	case f.Type.Kind() == reflect.Struct:
		return key + ".time=2"
	default:
		return key + "=3"
	}
}
