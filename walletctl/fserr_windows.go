//go:build windows

package walletctl

import (
	"errors"
	"syscall"
)

// Windows error numbers (winerror.h) that package syscall does not name.
const (
	errorWriteProtect   syscall.Errno = 19  // ERROR_WRITE_PROTECT: the media is write-protected
	errorHandleDiskFull syscall.Errno = 39  // ERROR_HANDLE_DISK_FULL
	errorDiskFull       syscall.Errno = 112 // ERROR_DISK_FULL
)

// IsReadOnlyFS reports whether err says the volume is write-protected (Windows has no EROFS; a
// read-only folder is fs.ErrPermission, which callers check on their own).
func IsReadOnlyFS(err error) bool { return errors.Is(err, errorWriteProtect) }

// isNoSpace reports whether err says the volume is out of space.
func isNoSpace(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull)
}
