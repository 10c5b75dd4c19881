package engine

import (
	"crypto/sha1"
	"encoding/hex"
)

// sha1Hex is the hash v3 gives beside a bill (hash_type SHA1): a checksum of the download, not a
// security measure.
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
