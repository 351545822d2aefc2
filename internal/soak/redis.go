package soak

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server of the soak's own, on a loopback port,
// that the fault schedule stops and starts again on the same port.
type redisServer struct {
	bin  string
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis starts bin (a redis-server) on a free loopback port with
// nothing persisted.
func startRedis(ctx context.Context, bin string) (*redisServer, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("soak: redis-server: %w (install it: apt-get install redis-server; scripts/ensure-redis.sh)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("soak: a free port for redis-server: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &redisServer{bin: path, addr: addr}
	return r, r.Start(ctx)
}

// Start runs the server and waits until it answers.
func (r *redisServer) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return errors.New("soak: redis-server is already running")
	}
	_, port, _ := net.SplitHostPort(r.addr)
	cmd := exec.Command(r.bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("soak: start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if c.Ping(ctx).Err() == nil {
			return nil
		}
		select {
		case <-done:
			r.cmd = nil
			return fmt.Errorf("soak: redis-server on %s exited at start", r.addr)
		case <-ctx.Done():
			return fmt.Errorf("soak: redis-server on %s does not answer: %w", r.addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop kills the server (as a crash would) and waits for it to exit.
func (r *redisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// keys counts the keys under prefix.
func (r *redisServer) keys(ctx context.Context, prefix string) (int, error) {
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	ks, _, err := c.Scan(ctx, 0, prefix+"*", 1000).Result()
	return len(ks), err
}
