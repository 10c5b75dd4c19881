//go:build !windows

package walletctl

import (
	"errors"
	"syscall"
)

// IsReadOnlyFS reports whether err says the file system is mounted read-only (EROFS).
func IsReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

// isNoSpace reports whether err says the file system is out of space (ENOSPC).
func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }
