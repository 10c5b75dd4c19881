package bankapi

import "errors"

// ErrNotSent marks a failure where the request never left the caller: no connection to the bank
// could be made (refused, no route, unknown host), so nothing was processed and a retry is safe.
// HTTP clients return it wrapped with ISSUER_UNAVAILABLE (resp "91", not processed): test with
// errors.Is(err, ErrNotSent). A wallet reports it as NETWORK_ERROR, never as an unknown outcome.
var ErrNotSent = errors.New("not sent: no connection to the bank")
