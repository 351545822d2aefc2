// Package redistest gives tests the Redis they share (127.0.0.1:6379
// unless SCFGATE_TEST_REDIS_ADDR says otherwise) and key prefixes of
// their own, deleted when they end. Tests never flush the database.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the test Redis's address.
func Addr() string {
	if a := os.Getenv("SCFGATE_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Require fails the test when Redis is unreachable; only under -short
// does it skip instead.
func Require(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr(), MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if testing.Short() {
			t.Skipf("Redis is not reachable at %s (%v): skipped under -short; the full run needs it", Addr(), err)
		}
		t.Fatalf("Redis is not reachable at %s: %v (the full test run needs Redis; -short skips these tests)", Addr(), err)
	}
}

var seq atomic.Uint64

// Prefix returns a key prefix of the test's own; its keys are deleted
// at the end.
func Prefix(t testing.TB) string {
	t.Helper()
	p := fmt.Sprintf("scfgate-test:%s:%d:%d:", strings.ReplaceAll(t.Name(), "/", "."), time.Now().UnixNano(), seq.Add(1))
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: Addr()})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}
