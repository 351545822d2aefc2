//go:build !linux

package preload

// dropCache does nothing where fadvise is not available: loads may be
// served from the page cache.
func dropCache(string) error { return nil }
