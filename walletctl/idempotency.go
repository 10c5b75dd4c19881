package walletctl

import "context"

type idemKey struct{}

// WithIdempotencyKey attaches a caller's idempotency key to a money movement (TopUp, Withdraw,
// Pay, Transfer): a retry with the same key and the same parameters returns the first outcome
// instead of moving money twice; the same key with other parameters is a CONFLICT.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idemKey{}, key)
}

// IdempotencyKey returns the key attached by WithIdempotencyKey, or "".
func IdempotencyKey(ctx context.Context) string {
	k, _ := ctx.Value(idemKey{}).(string)
	return k
}
